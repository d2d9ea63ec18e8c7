"""pgBackRest against its floors on a 1M-row database: full backup vs pg_basebackup, PITR vs base backup + WAL by hand.

Also three servers backed up in parallel against the slowest of them alone. Runs plain containers of the
stack's PostgreSQL image (build/images.env) with the stack's archiving and pgBackRest options
(scripts/compose_databases.py), named multidb-bench-backup-N, and removes them at the end. Both sides of
each ratio are timed the same way: inside the container (`date +%s%N` around the command, so the
`docker exec` cost, printed apart, is in neither), on the same server, the same data, ROUNDS times in
alternating order; the median is printed (the machine is shared: single runs vary by 2x).
"""

from __future__ import annotations

import os
import re
import statistics
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
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
GOAL_FLOOR, GOAL_PARALLEL = 1.3, 1.5
PSQL = ["psql", "-XtAq", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-d", "bench"]
PITR = Path(__file__).with_name("backup_pitr.sh")  # runs in the container, timed there
# What the two sides run. pg_basebackup is complete too: its WAL (-X fetch) and a manifest with a
# checksum of every file, as pgBackRest keeps one (SHA-1) of every file and the WAL in the archive.
PGBACKREST = "pgbackrest --log-level-console=info backup --type=full"
BASEBACKUP = "rm -rf /tmp/bb && pg_basebackup -D /tmp/bb -X fetch -c fast"
# pgBackRest's own log: the phases of one backup.
PHASES = (
    ("start (queries, checkpoint)", "backup start archive"),
    ("copy", "backup stop and wait"),
    ("stop, WAL archived, manifest", "backup command end"),
)


def main() -> None:
    image = _image()
    names = [f"{NAME}-{index}" for index in (1, 2, 3)]
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda name: start(image, name), names))
        first = names[0]
        overhead = statistics.median(_wall(first, "true") for _ in range(5))
        backups, floors, log = full_backups(first)
        # What `make backup` runs besides the backup: the repository check (the refusal) and the info it reports.
        extras = {
            step: statistics.median(in_container(first, f"pgbackrest {step}")[0] for _ in range(3))
            for step in ("check", "info --output=json")
        }
        pitrs = [point_in_time(first) for _ in range(ROUNDS)]
        alone = [in_container(name, PGBACKREST)[0] for name in names]
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda name: in_container(name, PGBACKREST), names))
        parallel = time.monotonic() - started - overhead
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", *names], capture_output=True, check=False)
    report(backups, floors, log, pitrs, overhead, extras)
    ratio = parallel / max(alone)
    verdict = "met" if ratio <= GOAL_PARALLEL else "MISSED"
    print(
        f"3 servers in parallel {parallel:6.2f}s  slowest alone {max(alone):6.2f}s  ratio {ratio:.2f}x"
        f"  (goal <= {GOAL_PARALLEL}x: {verdict})"
    )


def full_backups(name: str) -> tuple[list[float], list[float], str]:
    """ROUNDS full backups each way, alternating which goes first; pgBackRest's log of its median run."""
    backups, floors, logs = [], [], []
    for round_ in range(ROUNDS):
        order = (PGBACKREST, BASEBACKUP) if round_ % 2 == 0 else (BASEBACKUP, PGBACKREST)
        for command in order:
            seconds, out = in_container(name, command)
            if command == PGBACKREST:
                backups.append(seconds)
                logs.append(out)
            else:
                floors.append(seconds)
    median = sorted(range(ROUNDS), key=lambda index: backups[index])[ROUNDS // 2]
    return backups, floors, logs[median]


def report(
    backups: list[float],
    floors: list[float],
    log: str,
    pitrs: list[list[int]],
    overhead: float,
    extras: dict[str, float],
) -> None:
    backup, floor = statistics.median(backups), statistics.median(floors)
    print(f"median of {ROUNDS} rounds, timed in the container (docker exec adds {overhead:.2f}s to each side)")
    print(f"full backup, 1M rows: pgbackrest {backup:6.2f}s  pg_basebackup {floor:6.2f}s  {_verdict(backup / floor)}")
    print(f"  pgbackrest runs {_runs(backups)}; pg_basebackup runs {_runs(floors)}")
    print(f"  pgbackrest phases (its median run): {phases(log)}")
    added = ", ".join(f"pgbackrest {step} {seconds:.2f}s" for step, seconds in extras.items())
    print(f"  make backup also runs (not in the ratio): {added}, each in a docker compose exec")
    pitr = statistics.median(run[0] + run[1] for run in pitrs) / 1000
    by_hand = statistics.median(run[2] + run[3] for run in pitrs) / 1000
    print(
        f"PITR, same WAL:       pgbackrest {pitr:6.2f}s  base + WAL by hand {by_hand:6.2f}s  {_verdict(pitr / by_hand)}"
    )
    runs = "; ".join(f"{(run[0] + run[1]) / 1000:.2f} vs {(run[2] + run[3]) / 1000:.2f}" for run in pitrs)
    print(f"  runs (pgbackrest vs by hand): {runs}")
    for label, offset in (("pgbackrest restore", 0), ("by hand: cp", 2)):
        files = statistics.median(run[offset] for run in pitrs) / 1000
        replay = statistics.median(run[offset + 1] for run in pitrs) / 1000
        print(f"  {label:<18} files {files:5.2f}s  start, replay, promote {replay:5.2f}s")


def phases(log: str) -> str:
    """Seconds between pgBackRest's log lines: where a backup's time goes."""
    stamps: dict[str, float] = {}
    for line in log.splitlines():
        found = re.match(r"\S+ (\d\d):(\d\d):(\d\d\.\d+) P00 +\w+: (.*)", line)
        if found:
            seconds = int(found.group(1)) * 3600 + int(found.group(2)) * 60 + float(found.group(3))
            stamps.setdefault(found.group(4), seconds)
    begin = next((value for text, value in stamps.items() if text.startswith("backup command begin")), None)
    parts, previous = [], begin
    for label, marker in PHASES:
        now = next((value for text, value in stamps.items() if marker in text), None)
        if previous is not None and now is not None:
            parts.append(f"{label} {now - previous:.2f}s")
        previous = now
    return ", ".join(parts) or "(no log)"


def _image() -> str:
    if os.environ.get("POSTGRES_IMAGE"):
        return os.environ["POSTGRES_IMAGE"]
    text = (REPO / "build" / "images.env").read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)["POSTGRES_IMAGE"]


def start(image: str, name: str) -> None:
    """A server with the stack's archiving and pgBackRest options, its stanza, ROWS rows, all WAL archived."""
    options = pgbackrest_environment(Server("bench", "bench", "bench", ("BENCH_USER", "BENCH_PASSWORD")))
    options["PGBACKREST_REPO1_RETENTION_FULL"] = "99"
    command = [arg.replace("${ARCHIVE_TIMEOUT:-60}", "60") for arg in ARCHIVING]
    environment = [f"--env={key}={value}" for key, value in options.items()]
    subprocess.run(["docker", "rm", "-f", "-v", name], capture_output=True, check=False)
    run = ["docker", "run", "-d", "--name", name, "-e", "POSTGRES_PASSWORD=bench", "-e", "POSTGRES_DB=bench"]
    subprocess.run([*run, *environment, image, *command], capture_output=True, check=True)
    while exec_(name, "pg_isready", "-q", "-h", "127.0.0.1", check=False).returncode != 0:
        time.sleep(0.5)
    # As in the stack, the stanza exists before the data comes, so archiving keeps up from the start
    # (an archiver that failed before it would sleep up to a minute, which the first backup then waits for).
    exec_(name, "pgbackrest", "stanza-create")
    table = f"CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, {ROWS}) g; CHECKPOINT"  # noqa: S608
    exec_(name, *PSQL, "-c", table)
    exec_(name, "pgbackrest", "check")  # switches the segment and waits until it (and all before) is archived


def point_in_time(name: str) -> list[int]:
    """A base backup each way, WAL after them, the time, more WAL; restore to that time both ways (ms)."""
    exec_(name, "pgbackrest", "backup", "--type=full")
    exec_(name, "bash", "-c", BASEBACKUP)
    exec_(name, *PSQL, "-c", "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 200000) g")
    target = exec_(name, *PSQL, "-c", "SELECT now()").stdout.strip()
    time.sleep(1)
    exec_(name, *PSQL, "-c", "INSERT INTO t SELECT g, 'after' FROM generate_series(1, 1000) g")
    exec_(name, "pgbackrest", "check")  # switches the segment holding that commit and waits for its archive
    out = exec_(name, "bash", "-s", "--", target, stdin=PITR.read_text()).stdout.split()
    return [int(value) for value in out[-4:]]


def in_container(name: str, command: str) -> tuple[float, str]:
    """Seconds the shell command took, timed inside the container, and its output."""
    script = f's=$(date +%s%N); {{ {command}; }} 2>&1; echo "elapsed $(( $(date +%s%N) - s ))"'
    out = exec_(name, "bash", "-c", f"set -eo pipefail; {script}").stdout
    return int(out.rsplit("elapsed ", 1)[1]) / 1e9, out


def _wall(name: str, *command: str) -> float:
    started = time.monotonic()
    exec_(name, *command)
    return time.monotonic() - started


def exec_(name: str, *command: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    docker = ["docker", "exec", "-i", "-u", "postgres", name, *command]
    result = subprocess.run(docker, input=stdin, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command[:2])} in {name} failed: {result.stderr.strip()[-400:]}")
    return result


def _runs(values: list[float]) -> str:
    return " ".join(f"{value:.2f}" for value in values)


def _verdict(ratio: float) -> str:
    return f"ratio {ratio:.2f}x  (goal <= {GOAL_FLOOR}x: {'met' if ratio <= GOAL_FLOOR else 'MISSED'})"


if __name__ == "__main__":
    main()
