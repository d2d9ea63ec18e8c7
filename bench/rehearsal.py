"""rehearse_migrations on a seeded database of >= 1 million rows, against the bare floor measured in the same run.

Staging: three PostgreSQL containers laid out like the Compose stack (tests/rehearsal/staging.py), release v1
applied, 1,000,000 ledger entries in default plus rows in blog and shop. The release rehearsed is v2: ledger
0002 adds two columns with defaults, 0003 fills one for every row (a data migration over the million rows).

- floor: what any clone-and-migrate must do: a fresh PostgreSQL container (clone server) per alias, started
  concurrently, `pg_dump -Fc | pg_restore` into each (concurrently, the same dump flags as the rehearsal),
  then `manage.py migrate_all` on the clone servers. Removing the containers is timed apart: not part of the floor.
- rehearsal: `manage.py rehearse_migrations --json --no-lock-sampling --no-canary`, the whole process: read-only
  checks, snapshot and row counts, roles, dumps, migrate_all --plan (with the static checks) and migrate_all, counts
  after, source verification, clone server removal.
- watched: the same with lock sampling (every 25 ms) and canary traffic (a round every 50 ms) during each
  migration, as `rehearse_migrations` runs by default. Goal (issue 15): watched/rehearsal within 1.3x.

BENCH_ROUNDS rounds (default 3), floor and rehearsal alternating so drift hits both alike; prints every sample
and the ratio of the medians. Goal: within 1.3x. Needs Docker and the image of scripts/ensure-images.sh
(`make bench` provides both).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "app"))

from multidb.rehearsal.clone_server import CloneServer  # noqa: E402
from tests.integration.postgres import Target, postgres_image, running_servers  # noqa: E402
from tests.rehearsal.staging import Staging, build, release, seed  # noqa: E402
from tests.unit.cli import manage  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
GOAL = 1.3
RESTORE_FLAGS = ["--no-owner", "--no-privileges", "--exit-on-error"]
UNWATCHED = ("--no-lock-sampling", "--no-canary")
NEXT_DATA = "ledger.0003_fill_amount_cents"

Measure = Callable[[Staging, Path], tuple[float, float, str]]  # -> (seconds, removal seconds, detail)


def main() -> None:
    with running_servers() as servers, tempfile.TemporaryDirectory() as workdir:
        started = time.monotonic()
        staging = build(servers, Path(workdir))
        seed(staging.runtime.targets, entries=ROWS, posts=20_000)
        total = sum(rows for pair in staging.roles.values() for rows in live_rows(pair.owner).values())
        print(f"staging seeded in {time.monotonic() - started:.1f}s: {total:,} rows, {ROWS:,} in ledger_entry")
        samples: dict[str, list[float]] = {"floor": [], "rehearsal": [], "watched": [], "removal": []}
        for round_ in range(ROUNDS):
            order: tuple[Measure, ...] = (floor, rehearsal, watched) if round_ % 2 == 0 else (watched, rehearsal, floor)
            for measure in order:
                seconds, removal, detail = measure(staging, Path(workdir) / f"round{round_}-{measure.__name__}")
                samples[measure.__name__].append(seconds)
                if measure is floor:
                    samples["removal"].append(removal)
                print(f"  round {round_ + 1} {measure.__name__:<9} {seconds:6.2f}s  {detail}", flush=True)
    bare, ours, removal, full = (statistics.median(samples[k]) for k in ("floor", "rehearsal", "removal", "watched"))
    print(f"floor     {bare:6.2f}s  median of {ROUNDS} (removing its containers took {removal:.2f}s more)")
    print(f"rehearsal {ours:6.2f}s  median of {ROUNDS} (its containers removed before it exits)")
    verdict = "within" if ours / bare <= GOAL else "OVER"
    print(
        f"rehearsal/floor {ours / bare:.2f}x ({verdict} the {GOAL}x goal); "
        f"against the floor plus its container removal {ours / (bare + removal):.2f}x"
    )
    print(f"watched   {full:6.2f}s  median of {ROUNDS} (lock sampling and canary traffic during each migration)")
    verdict = "within" if full / ours <= GOAL else "OVER"
    print(f"watched/rehearsal {full / ours:.2f}x ({verdict} the {GOAL}x goal)")


def floor(staging: Staging, workdir: Path) -> tuple[float, float, str]:
    """Fresh containers, pg_dump | pg_restore, migrate_all: nothing else."""
    workdir.mkdir(parents=True)
    image = postgres_image()
    servers = {
        alias: CloneServer(alias, image, pair.owner.dbname, "bench-floor") for alias, pair in staging.roles.items()
    }
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=len(servers)) as pool:
            list(pool.map(CloneServer.start, servers.values()))
            ready = time.monotonic()
            list(pool.map(lambda alias: dump_restore(staging.roles[alias].owner, servers[alias]), servers))
        dumped = time.monotonic()
        config = clones_config(staging, servers, workdir)
        migrated = manage("migrate_all", config=config, env=release("v2"), timeout=600)
        check(migrated.returncode == 0, migrated.stdout + migrated.stderr)
        seconds = time.monotonic() - started
    finally:
        with ThreadPoolExecutor(max_workers=len(servers)) as pool:
            list(pool.map(CloneServer.remove, servers.values()))
    removal = time.monotonic() - started - seconds
    detail = (
        f"containers {ready - started:.2f}s, dump|restore {dumped - ready:.2f}s, "
        f"migrate_all {started + seconds - dumped:.2f}s; removal {removal:.2f}s"
    )
    return seconds, removal, detail


def rehearsal(staging: Staging, workdir: Path, *extra: str) -> tuple[float, float, str]:
    """The rehearsal without lock sampling or canary traffic (`extra` arguments: none, see watched())."""
    started = time.monotonic()
    args = ("rehearse_migrations", "--json", "--output", str(workdir), *(extra or UNWATCHED))
    result = manage(*args, config=staging.reader.config, env=release("v2"))
    seconds = time.monotonic() - started
    check(result.returncode == 0, result.stdout[-3000:] + result.stderr)
    report = json.loads(result.stdout)
    check(report["source_unchanged"] and not report["leftovers"], "source changed or containers left")
    ledger = report["aliases"]["default"]["rows"]["public.ledger_entry"]
    check(ledger["after"] == ROWS, f"ledger_entry rows after: {ledger}")
    dump = max(entry["seconds"]["copy"] for entry in report["aliases"].values())  # "copy": the report's key
    steps = report["aliases"]["default"]["migrations"]
    migrations = ", ".join(f"{step['migration'].split('.')[1][:4]} {step['seconds']:.2f}s" for step in steps)
    canary = report["aliases"]["default"]["observed"].get(NEXT_DATA, {}).get("canary") or {}
    traffic = f"; canary {canary['queries']} queries, longest {canary['longest_wait']:.2f}s" if canary else ""
    return seconds, 0.0, f"slowest dump {dump:.2f}s, ledger {migrations}{traffic}"


def watched(staging: Staging, workdir: Path) -> tuple[float, float, str]:
    """The rehearsal as it runs by default: locks sampled, canary traffic during each migration."""
    return rehearsal(staging, workdir, "--fail-on", "none")


def dump_restore(source: Target, server: CloneServer) -> None:
    dsn = f"host={source.server.host} port={source.server.port} dbname={source.dbname} user={source.user}"
    dump = subprocess.Popen(
        ["pg_dump", "-Fc", "--compress=0", f"--dbname={dsn}"],
        stdout=subprocess.PIPE,
        env={**os.environ, "PGPASSWORD": source.password or source.server.password},
    )
    target = " ".join(f"{key}={value}" for key, value in server.conninfo().items())
    restore = subprocess.run(
        ["pg_restore", *RESTORE_FLAGS, f"--dbname={target}"],
        stdin=dump.stdout,
        env={**os.environ, "PGPASSWORD": server.password},
        check=False,
    )
    if dump.stdout:
        dump.stdout.close()
    check(dump.wait() == 0 and restore.returncode == 0, f"pg_dump | pg_restore failed for {source.dbname}")


def clones_config(staging: Staging, servers: dict[str, CloneServer], workdir: Path) -> Path:
    """staging's config with each alias pointing at its clone server."""
    config = yaml.safe_load(staging.owner.config.read_text())
    for alias, server in servers.items():
        config["databases"][alias].update(server.settings())
    path = workdir / "floor.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def live_rows(target: Target) -> dict[str, int]:
    with target.server.connect(target.dbname) as connection:
        rows = connection.execute("SELECT relname, n_live_tup FROM pg_stat_user_tables").fetchall()
    return {name: int(count) for name, count in rows}


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"bench/rehearsal.py: {message}")


if __name__ == "__main__":
    main()
