"""pgBackRest against its floors on a 1M-row database: full backup vs pg_basebackup, PITR vs base backup + WAL by hand.

Also three servers backed up in parallel against the slowest of them alone. Runs plain containers of the
stack's PostgreSQL image (build/images.env) with the stack's pgBackRest options (scripts/compose_databases.py),
named multidb-bench-backup-N, and removes them at the end. Each figure is one run (a 1M-row full backup
is seconds, not milliseconds); the commands are the ones `make backup TYPE=full` and `make restore` run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from compose_databases import ARCHIVING, Server, pgbackrest_environment  # type: ignore[import-not-found]

REPO = Path(__file__).resolve().parents[1]
NAME = "multidb-bench-backup"
ROWS = 1_000_000
GOAL_FLOOR, GOAL_PARALLEL = 1.3, 1.5
PSQL = ["psql", "-XtAq", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-d", "bench"]
PITR = Path(__file__).with_name("backup_pitr.sh")  # runs in the container, timed there


def main() -> None:
    image = _image()
    names = [f"{NAME}-{index}" for index in (1, 2, 3)]
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda name: start(image, name), names))
        first = names[0]
        backup = timed(first, "pgbackrest", "backup", "--type=full")
        base = "/tmp/bb"  # noqa: S108 (in the container; bench/backup_pitr.sh reads it)
        floor = timed(first, "pg_basebackup", "-D", base, "-X", "fetch", "-c", "fast")
        pitr, replay = point_in_time(first)
        alone = [timed(name, "pgbackrest", "backup", "--type=full") for name in names]
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda name: timed(name, "pgbackrest", "backup", "--type=full"), names))
        parallel = time.monotonic() - started
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", *names], capture_output=True, check=False)
    print(f"full backup, 1M rows: pgbackrest {backup:6.2f}s  pg_basebackup {floor:6.2f}s  {_verdict(backup / floor)}")
    print(
        f"PITR, same WAL:       pgbackrest {pitr:6.2f}s  base + WAL by hand {replay:6.2f}s  {_verdict(pitr / replay)}"
    )
    ratio = parallel / max(alone)
    verdict = "met" if ratio <= GOAL_PARALLEL else "MISSED"
    print(
        f"3 servers in parallel {parallel:6.2f}s  slowest alone {max(alone):6.2f}s  ratio {ratio:.2f}x"
        f"  (goal <= {GOAL_PARALLEL}x: {verdict})"
    )


def _image() -> str:
    env = dict(line.split("=", 1) for line in (REPO / "build" / "images.env").read_text().splitlines() if "=" in line)
    return os.environ.get("POSTGRES_IMAGE") or env["POSTGRES_IMAGE"]


def start(image: str, name: str) -> None:
    """A server with the stack's archiving and pgBackRest options, ROWS rows, its stanza."""
    options = pgbackrest_environment(Server("bench", "bench", "bench", ("BENCH_USER", "BENCH_PASSWORD")))
    options["PGBACKREST_REPO1_RETENTION_FULL"] = "9"
    command = [arg.replace("${ARCHIVE_TIMEOUT:-60}", "60") for arg in ARCHIVING]
    environment = [f"--env={key}={value}" for key, value in options.items()]
    subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, check=False)
    run = ["docker", "run", "-d", "--name", name, "-e", "POSTGRES_PASSWORD=bench", "-e", "POSTGRES_DB=bench"]
    subprocess.run([*run, *environment, image, *command], capture_output=True, check=True)
    while exec_(name, "pg_isready", "-q", "-h", "127.0.0.1", check=False).returncode != 0:
        time.sleep(0.5)
    table = f"CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, {ROWS}) g; CHECKPOINT"  # noqa: S608
    exec_(name, *PSQL, "-c", table)
    exec_(name, "pgbackrest", "stanza-create")


def point_in_time(name: str) -> tuple[float, float]:
    """Write WAL after both base backups, note the time, write more; restore to it both ways."""
    exec_(name, *PSQL, "-c", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 200000) g")
    target = exec_(name, *PSQL, "-c", "SELECT now()").stdout.strip()
    time.sleep(1)
    exec_(name, *PSQL, "-c", "INSERT INTO t SELECT g, 'after' FROM generate_series(1, 1000) g")
    exec_(name, *PSQL, "-c", "SELECT pg_switch_wal()")  # the segment holding that commit, archived before
    exec_(name, "pgbackrest", "check")  # check switches and waits for the archive itself
    out = exec_(name, "bash", "-s", "--", target, stdin=PITR.read_text()).stdout.split()
    return int(out[-2]) / 1000, int(out[-1]) / 1000


def timed(name: str, *command: str) -> float:
    started = time.monotonic()
    exec_(name, *command)
    return time.monotonic() - started


def exec_(name: str, *command: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    docker = ["docker", "exec", "-i", "-u", "postgres", name, *command]
    result = subprocess.run(docker, input=stdin, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command[:2])} in {name} failed: {result.stderr.strip()[-400:]}")
    return result


def _verdict(ratio: float) -> str:
    return f"ratio {ratio:.2f}x  (goal <= {GOAL_FLOOR}x: {'met' if ratio <= GOAL_FLOOR else 'MISSED'})"


if __name__ == "__main__":
    main()
