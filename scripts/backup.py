"""`make backup [TYPE=full|diff|incr]`: one pgBackRest backup of every server of the stack, in parallel."""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor

import backup_stack
from backup_stack import BadInputError, Server, fail, in_server, servers, size

TYPES = ("full", "diff", "incr")


def main(argv: list[str]) -> int:
    kind = argv[1] if len(argv) > 1 and argv[1] else "incr"
    try:
        if kind not in TYPES:
            raise BadInputError(f"TYPE={kind} is not a backup type: use TYPE=full, diff or incr")
        targets = servers()
        # A repository that fails `pgbackrest check` (archiving broken, a stanza of another cluster, an
        # unreadable repository) is refused before any backup starts, with pgBackRest's error.
        with ThreadPoolExecutor(max_workers=len(targets)) as pool:
            list(pool.map(backup_stack.check_repository, targets))
    except BadInputError as error:
        return fail("backup", error)
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        lines = list(pool.map(lambda server: backup(server, kind), targets))
    for ok, line in lines:
        print(line, file=sys.stdout if ok else sys.stderr)
    return 0 if all(ok for ok, _ in lines) else 1


def backup(server: Server, kind: str) -> tuple[bool, str]:
    """(ok, the alias's line): the new backup's label, type, size in the repository and duration."""
    started = time.monotonic()
    # A diff or incr without a full before it becomes full: pgBackRest says so, we show the type made.
    result = in_server(server, "pgbackrest", "--log-level-console=warn", "backup", f"--type={kind}", check=False)
    took = time.monotonic() - started
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        return False, f"backup: {server.alias} ({server.service}) failed: {detail[-1] if detail else 'no output'}"
    newest = backup_stack.load_backups(server).backups[-1]
    return True, (
        f"{server.alias:<10} {newest.type:<4} backup {newest.label}  {size(newest.size)} in the repository"
        f" (database {size(newest.database_size)}), {took:.1f} s"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv))
