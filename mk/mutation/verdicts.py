"""The verdicts an earlier `mutmut run` recorded under WORKDIR/mutants, for run.sh's MUTATION_RESUME=1.

    verdicts.py pending WORKDIR [PATTERN ...]   names of the mutants matching a pattern with no verdict yet
    verdicts.py forget WORKDIR STATUS [...]     drop verdicts of these statuses (e.g. timeout), to run again

mutmut re-runs every mutant named on its command line, decided or not, so a resumed run with MUTANTS
patterns would start over; run.sh names only the pending ones instead. `timeout` (undecided: the run was
cut short) and `survived` (after a test was added to kill it) are the verdicts worth forgetting.
"""

from __future__ import annotations

import fnmatch
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mutmut.stats import status_by_exit_code


def metas(workdir: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    for meta in sorted((workdir / "mutants" / "multidb").rglob("*.py.meta")):
        yield meta, json.loads(meta.read_text())


def pending(workdir: Path, patterns: list[str]) -> list[str]:
    return [
        key
        for _, data in metas(workdir)
        for key, code in data["exit_code_by_key"].items()
        if code is None and (not patterns or any(fnmatch.fnmatch(key, pattern) for pattern in patterns))
    ]


def forget(workdir: Path, statuses: set[str]) -> int:
    forgotten = 0
    for meta, data in metas(workdir):
        codes = data["exit_code_by_key"]
        dropped = [key for key, code in codes.items() if code is not None and status_by_exit_code[code] in statuses]
        if dropped:
            codes.update(dict.fromkeys(dropped))
            meta.write_text(json.dumps(data, indent=4))
            forgotten += len(dropped)
    return forgotten


def main(command: str, workdir: Path, rest: list[str]) -> int:
    if command == "pending":
        for name in pending(workdir, rest):  # one per line, and no line at all when none is pending
            print(name)
    elif command == "forget":
        print(f"forgot {forget(workdir, set(rest))} verdicts ({', '.join(sorted(rest))}) under {workdir}/mutants")
    else:
        print(f"verdicts.py: unknown command {command!r}; use pending or forget", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3:]))
