"""`make restore [TIME=...] [DB=alias ...]`: point-in-time restore of the stack's servers to one moment, then checks.

Usage: restore.py TIME [ALIAS ...]   (TIME may be empty: the latest time every alias restored can reach)
Refuses (one line, exit 2, nothing changed) an unknown alias, a server without backup, a repository that
fails `pgbackrest check`, and a TIME that is unparsable, in the future or before the earliest backup.
"""

from __future__ import annotations

import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from backup_stack import (
    BadInputError,
    Server,
    check_repository,
    compose,
    fail,
    in_server,
    load,
    parse_time,
    running_services,
    servers,
    show,
    size,
)

PROMOTE_TIMEOUT = 600  # seconds for a server to replay its WAL and promote


@dataclass
class Plan:
    servers: list[Server]
    target: datetime
    everything: bool  # every alias of the stack, so the references must hold
    backup_sets: dict[str, str] = field(default_factory=dict)  # alias -> the backup its restore starts from

    def to_end(self, server: Server) -> bool:
        """Replay all archived WAL: recovery to a time after the last commit would end short of it (FATAL)."""
        return server.last_commit is None or self.target >= server.last_commit


def main(argv: list[str]) -> int:
    text, names = (argv[1] if len(argv) > 1 else "").strip(), argv[2:]
    try:
        plan = make_plan(text, names)
    except BadInputError as error:
        return fail("restore", error)
    aliases = ", ".join(s.alias for s in plan.servers)
    print(f"restore: {aliases} to {show(plan.target)} (app, migrate and their backup loops stopped meanwhile)")
    if not plan.everything:
        print("restore: WARNING: only some aliases are restored: references between databases may now dangle")
    services = [s.service for s in plan.servers]
    writers = ["app", "migrate", *[f"{service}-backup" for service in services]]
    compose("stop", *writers)
    try:
        settle(plan)
    except BadInputError as error:
        compose("up", "--detach", "--wait", "--no-build")  # nothing was restored: back as it was
        return fail("restore", error)
    compose("stop", *services)
    with ThreadPoolExecutor(max_workers=len(plan.servers)) as pool:
        reports = list(pool.map(lambda server: restore(plan, server), plan.servers))
    for line in reports:
        print(line)
    compose("up", "--detach", "--wait", "--no-build")
    return checks(plan)


def make_plan(text: str, names: list[str]) -> Plan:
    everyone = servers()
    unknown = [name for name in names if name not in {s.alias for s in everyone}]
    if unknown:
        known = ", ".join(s.alias for s in everyone)
        raise BadInputError(f"unknown alias {', '.join(unknown)} in DB= (aliases of config/compose.yaml: {known})")
    chosen = [s for s in everyone if not names or s.alias in names]
    target = parse_time(text) if text else None
    now = datetime.now(UTC)
    if target and target > now:
        raise BadInputError(f"TIME={text} is in the future (now {show(now)})")
    read_repository(chosen)
    for server in chosen:
        if not server.backups:
            raise BadInputError(f"no backup of {server.alias} in the repository yet: run make backup TYPE=full first")
    if target:
        for server in chosen:
            if server.earliest and target < server.earliest:
                raise BadInputError(
                    f"TIME={text} is before the earliest restorable time of {server.alias}: {show(server.earliest)}"
                )
    else:
        target = min(s.latest for s in chosen if s.latest)
    plan = Plan(chosen, target, everything=len(chosen) == len(everyone))
    choose_backup_sets(plan)
    return plan


def settle(plan: Plan) -> None:
    """With the writers stopped, archive what they committed since the plan and read each last commit again.

    A server whose archive ended before the target replays all of it (Plan.to_end); a commit made after the
    plan's check but before the app stopped would otherwise be archived at shutdown and replayed too, though
    it came after TIME."""
    running = running_services()
    read_repository([server for server in plan.servers if server.service in running], running)
    choose_backup_sets(plan)


def read_repository(chosen: list[Server], running: set[str] | None = None) -> None:
    """Archive the current WAL of each running server, then read its backups and last commit.

    A fresh cluster (a lost volume) and a server that is not running (stopped, or failing to start after a
    bad restore) are what a restore is for: their repository is read beside them, unchecked."""
    running = running_services() if running is None else running
    up = [server for server in chosen if server.service in running]
    with ThreadPoolExecutor(max_workers=max(len(chosen), 1)) as pool:
        list(pool.map(lambda server: check_repository(server, new_cluster_ok=True), up))
        list(pool.map(lambda server: load(server, server.service in running), chosen))


def choose_backup_sets(plan: Plan) -> None:
    for server in plan.servers:
        # Chosen here, not left to pgBackRest: it would take the newest set even off the newest timeline's path.
        usable = server.restorable_backups(None if plan.to_end(server) else plan.target)
        if not usable:
            raise BadInputError(
                f"no backup of {server.alias} on its current timeline ends by {show(plan.target)}: choose a later TIME"
            )
        plan.backup_sets[server.alias] = usable[-1].label


def restore(plan: Plan, server: Server) -> str:
    """Restore one server (its container stopped), start it, wait for promotion; its report line."""
    started, since = time.monotonic(), datetime.now(UTC).isoformat()
    options = ["--log-level-console=info", "restore", f"--set={plan.backup_sets[server.alias]}"]
    if not plan.to_end(server):
        target = plan.target.strftime("%Y-%m-%d %H:%M:%S.%f+00")
        options += ["--type=time", f"--target={target}", "--target-action=promote"]
    # The data directory is emptied first: a fresh cluster of a lost volume must not be mixed in.
    script = 'set -e; find "$PGDATA" -mindepth 1 -delete; exec pgbackrest "$@"'
    out = compose(
        "run",
        "--rm",
        "--no-deps",
        "--user",
        "postgres",
        "--entrypoint",
        "bash",
        server.service,
        "-c",
        script,
        "-",
        *options,
    ).stdout
    found = re.search(r"restore backup set ([^\s,]+)", out)
    compose("up", "--detach", "--wait", "--no-build", server.service)
    wait_promoted(server)
    log = compose("logs", "--no-log-prefix", "--since", since, server.service).stdout
    return report(plan, server, found.group(1) if found else "?", log, time.monotonic() - started)


def wait_promoted(server: Server) -> None:
    deadline = time.monotonic() + PROMOTE_TIMEOUT
    while time.monotonic() < deadline:
        state = in_server(server, "psql", "-XtAc", "select pg_is_in_recovery()", check=False).stdout.strip()
        if state == "f":
            return
        time.sleep(0.5)
    raise RuntimeError(f"restore: {server.alias} did not finish recovery in {PROMOTE_TIMEOUT}s: make logs")


def report(plan: Plan, server: Server, backup: str, log: str, took: float) -> str:
    """Backup used, target reached (last transaction replayed) and how much WAL was replayed."""
    sql = "select coalesce(to_char(pg_last_xact_replay_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS'), '-')"
    reached = in_server(server, "psql", "-XtAc", sql).stdout.strip()
    starts, done = re.search(r"redo starts at (\S+)", log), re.search(r"redo done at (\S+)", log)
    replayed = "-"
    if starts and done:
        diff = f"select pg_wal_lsn_diff('{done.group(1)}', '{starts.group(1)}')::bigint"
        replayed = size(int(in_server(server, "psql", "-XtAc", diff).stdout.strip()))
    segments = log.count("restored log file")
    # The whole archive when TIME is after the alias's last archived commit: the same state, reached without a target.
    target = "end of archived WAL (its last commit is before TIME)" if plan.to_end(server) else show(plan.target)
    # No commit in the replayed WAL: the backup already held every commit the restore keeps.
    reached = "none in the replayed WAL" if reached == "-" else f"{reached}+00"
    return (
        f"{server.alias:<10} backup {backup}; target {target}; last transaction replayed {reached};"
        f" WAL replayed {replayed} ({segments} segments from the archive); {took:.1f} s"
    )


def checks(plan: Plan) -> int:
    """migrate_all --check and the cross-database reference check (manage.py dbrefs), after any restore."""
    migrate = compose("run", "--rm", "migrate", "migrate", "--check", check=False)
    print(f"restore: migrate_all --check: {'ok' if migrate.returncode == 0 else 'FAILED'}")
    print(_indent(migrate.stdout + migrate.stderr))
    refs = compose("exec", "-T", "app", "python", "app/manage.py", "dbrefs", check=False)
    if "Unknown command" in refs.stderr:
        print("restore: reference check: manage.py dbrefs is not in this build; skipped")
        return 0 if migrate.returncode == 0 else 1
    verdict = "ok (no dangling reference)" if refs.returncode == 0 else "DANGLING REFERENCES"
    print(f"restore: reference check (manage.py dbrefs): {verdict}")
    print(_indent(refs.stdout + refs.stderr))
    if refs.returncode != 0 and not plan.everything:
        print("restore: these rows point at users missing since the partial restore; restore every alias to one time")
        return 0 if migrate.returncode == 0 else 1
    return 0 if migrate.returncode == 0 and refs.returncode == 0 else 1


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.strip().splitlines())


if __name__ == "__main__":
    sys.exit(main(sys.argv))
