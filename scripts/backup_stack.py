"""The Compose stack's pgBackRest repository as seen from the host: servers, backups, restorable times."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ALIASES = ROOT / "build" / "compose.aliases"
RESTORABLE = "/usr/local/lib/multidb-backup/restorable.sh"


class BadInputError(Exception):
    """A request to refuse before anything changes: one line, exit 2."""


@dataclass
class Backup:
    label: str
    type: str
    start: datetime
    stop: datetime
    size: int  # bytes in the repository (compressed)
    database_size: int
    timeline: int = 1  # the timeline it was taken on (its first WAL segment's)
    stop_lsn: int = 0  # the WAL position it is consistent at


@dataclass
class Server:
    """A migratable alias's PostgreSQL service and its stanza (named after its database)."""

    alias: str
    service: str
    stanza: str
    backups: list[Backup] = field(default_factory=list)
    system_id: int | None = None
    last_commit: datetime | None = None
    # The newest timeline's history: each ancestor timeline and the WAL position where the next one branched off.
    branches: dict[int, int] = field(default_factory=dict)

    def restorable_backups(self, target: datetime | None = None) -> list[Backup]:
        """Backups a restore can start from: on the newest timeline's path (recovery follows that timeline) and,
        with a target, ended by then. A backup taken on an older timeline after the newer one branched off is
        not (after a point-in-time restore, the backups of the abandoned future): PostgreSQL could not find its
        checkpoint on the newest timeline, and pgBackRest 2.45 would pick it as the latest."""
        on_path = [
            backup
            for backup in self.backups
            if backup.timeline not in self.branches or backup.stop_lsn <= self.branches[backup.timeline]
        ]
        return [backup for backup in on_path if target is None or backup.stop <= target]

    @property
    def earliest(self) -> datetime | None:
        """The oldest restorable backup's end: a restore cannot reach any earlier time."""
        usable = self.restorable_backups()
        return usable[0].stop if usable else None

    @property
    def latest(self) -> datetime | None:
        """The last archived commit (or the newest restorable backup's end, if later): what a restore can reach."""
        usable = self.restorable_backups()
        times = [t for t in (self.last_commit, usable[-1].stop if usable else None) if t]
        return max(times) if times else None


def servers() -> list[Server]:
    """Every server of config/compose.yaml (build/compose.aliases lines without a profile); replicas excluded."""
    if not ALIASES.exists():
        raise BadInputError(f"{ALIASES.relative_to(ROOT)} is missing: run make up first")
    rows = [line.split("\t") for line in ALIASES.read_text().splitlines()]
    return [Server(alias, service, stanza) for alias, service, stanza, profile in rows if not profile]


def compose(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """scripts/compose.sh ARGS (the stack of COMPOSE_PROJECT_NAME and ENV_FILE), output captured."""
    command = [str(ROOT / "scripts" / "compose.sh"), "--progress", "quiet", "--ansi", "never", *args]
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)  # noqa: S603 (our script)
    if check and result.returncode != 0:
        raise RuntimeError(f"docker compose {' '.join(args[:3])}... failed:\n{result.stdout}{result.stderr}")
    return result


def in_server(server: Server, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """A command as postgres in the server's running container (pgBackRest's options are in its environment)."""
    return compose("exec", "-T", "--user", "postgres", server.service, *command, check=check)


def beside_server(server: Server, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """A command as postgres in a one-off container of the server's service (its volumes and environment, no
    PostgreSQL): reads the repository of a server that is stopped or failing to start, as a restore must."""
    run = ["run", "--rm", "--no-deps", "-T", "--user", "postgres", "--entrypoint", command[0], server.service]
    return compose(*run, *command[1:], check=check)


def running_services() -> set[str]:
    """The stack's services whose container is running (not stopped, exited or restarting)."""
    return set(compose("ps", "--status", "running", "--services", check=False).stdout.split())


def check_repository(server: Server, *, new_cluster_ok: bool = False) -> None:
    """Refuse (BadInputError) when `pgbackrest check` fails for the server; it also archives the current WAL
    segment. With new_cluster_ok, a server that is not the cluster its stanza backs up (a lost volume
    initialised afresh, which only a restore mends) is let through unchecked: it cannot pass."""
    if new_cluster_ok:
        control = in_server(server, "bash", "-c", 'pg_controldata -D "$PGDATA"', check=False).stdout
        found = re.search(r"system identifier:\s+(\d+)", control)
        info = in_server(server, "pgbackrest", "info", "--output=json", check=False).stdout
        stanza = re.search(r'"system-id":(\d+)', info)
        if found and stanza and found.group(1) != stanza.group(1):
            return
    result = in_server(server, "pgbackrest", "check", check=False)
    if result.returncode != 0:
        error = error_line(result.stderr or result.stdout)
        raise BadInputError(f"the repository fails pgbackrest check for {server.alias} ({server.service}): {error}")


def error_line(output: str) -> str:
    """pgBackRest's ERROR line (with its cause when it ends in a colon), not the HINT lines after it."""
    lines = [line.strip() for line in output.strip().splitlines()] or ["no output"]
    index = next((i for i, line in enumerate(lines) if line.startswith("ERROR")), len(lines) - 1)
    if lines[index].endswith(":") and index + 1 < len(lines):
        return f"{lines[index]} {lines[index + 1]}"
    return lines[index]


def load(server: Server, running: bool = True) -> Server:
    """Fill in the server's backups, stanza system id and last archived commit from the repository (read in
    the server's container, or beside it when it is not running)."""
    load_backups(server, running)
    last = (in_server if running else beside_server)(server, "bash", RESTORABLE).stdout.strip()
    server.last_commit = parse_time(last.replace(" UTC", "+00:00")) if last else None
    return server


def load_backups(server: Server, running: bool = True) -> Server:
    """Fill in the server's backups and stanza system id (`pgbackrest info`), not the last archived commit."""
    run = in_server if running else beside_server
    out = run(server, "pgbackrest", "info", "--output=json").stdout
    stanzas = json.loads(out or "[]")
    stanza = stanzas[0] if stanzas else {}
    server.backups = [_backup(item) for item in stanza.get("backup", [])]
    databases = stanza.get("db", [])
    server.system_id = databases[-1]["system-id"] if databases else None
    server.branches = branches(run(server, "bash", "-c", NEWEST_HISTORY).stdout)
    return server


# The newest timeline's history file in the stanza's archive (plain text; none while the stanza is on timeline 1).
NEWEST_HISTORY = (
    'ls -1 /var/lib/pgbackrest/archive/"$PGBACKREST_STANZA"/*/*.history 2>/dev/null | sort | tail -n 1 | xargs -r cat'
)


def branches(history: str) -> dict[int, int]:
    """A timeline history file ("1<TAB>0/9000000<TAB>reason" per ancestor) as {ancestor timeline: branch position}."""
    found: dict[int, int] = {}
    for line in history.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0].isdigit() and "/" in fields[1]:
            found[int(fields[0])] = lsn(fields[1])
    return found


def lsn(text: str) -> int:
    """A WAL position ('0/5000028') as a byte offset."""
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def _backup(item: dict[str, Any]) -> Backup:
    timestamp, info = item["timestamp"], item["info"]
    repository = info["repository"]
    return Backup(
        label=str(item["label"]),
        type=str(item["type"]),
        start=datetime.fromtimestamp(timestamp["start"], UTC),
        stop=datetime.fromtimestamp(timestamp["stop"], UTC),
        size=int(repository["delta"]),
        database_size=int(info["size"]),
        timeline=int(item["archive"]["start"][:8], 16),
        stop_lsn=lsn(item["lsn"]["stop"]),
    )


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with a UTC offset (2026-11-30 12:03:00+00); a naive time is refused, not guessed."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInputError(f"cannot parse TIME={text!r}: write it like 2026-11-30 12:03:00+00") from None
    if value.tzinfo is None:
        raise BadInputError(f"TIME={text!r} has no UTC offset: write it like 2026-11-30 12:03:00+00")
    return value.astimezone(UTC)


def show(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S+00") if value else "-"


def size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    value, units = count / 1024, ["KB", "MB", "GB"]
    while value >= 1024 and len(units) > 1:
        value, units = value / 1024, units[1:]
    return f"{value:.1f} {units[0]}"


def fail(prefix: str, error: BadInputError) -> int:
    print(f"{prefix}: {error}", file=sys.stderr)
    return 2
