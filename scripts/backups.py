"""`make backups`: per alias, each backup in the repository and the earliest and latest restorable time."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

from backup_stack import BadInputError, fail, load, servers, show, size


def main() -> int:
    try:
        targets = servers()
    except BadInputError as error:
        return fail("backups", error)
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        loaded = list(pool.map(load, targets))
    for server in loaded:
        print(f"{server.alias} ({server.service}, stanza {server.stanza})")
        if not server.backups:
            print("  no backup yet: make backup TYPE=full")
            continue
        print(f"  restorable from {show(server.earliest)} to {show(server.latest)}")
        usable = {backup.label for backup in server.restorable_backups()}
        for backup in server.backups:
            # After a point-in-time restore, the backups of the abandoned timeline stay until they expire.
            off_path = "" if backup.label in usable else "  (of an abandoned timeline: not restorable)"
            print(
                f"  {backup.label:<33} {backup.type:<4} {show(backup.stop)}"
                f"  {size(backup.size):>9} (database {size(backup.database_size)}){off_path}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
