"""The verdicts an earlier `mutmut run` recorded under WORKDIR/mutants, for run.sh's MUTATION_RESUME=1.

    verdicts.py pending WORKDIR [PATTERN ...]   names of the mutants matching a pattern with no verdict yet
    verdicts.py forget WORKDIR STATUS [...]     drop verdicts of these statuses (e.g. timeout), to run again
    verdicts.py save WORKDIR STORE              copy the decided verdicts into STORE (committed: mk/mutation/recorded)
    verdicts.py seed WORKDIR STORE              put STORE's verdicts where a fresh `mutmut run` will find them

mutmut re-runs every mutant named on its command line, decided or not, so a resumed run with MUTANTS
patterns would start over; run.sh names only the pending ones instead. `timeout` (undecided: the run was
cut short) and `survived` (after a test was added to kill it) are the verdicts worth forgetting.

A full run takes hours, longer than the machine it started on may live, so the verdicts are kept in the
repository (save) and a fresh run starts from them (seed). mutmut itself keeps a seeded verdict only while
the hash of the mutated function is unchanged: a function edited since is run again, its verdicts dropped.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import by_hand  # mk/mutation/, this script's folder
from mutmut.stats import status_by_exit_code


def metas(workdir: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    for meta in sorted((workdir / "mutants" / "multidb").rglob("*.py.meta")):
        yield meta, json.loads(meta.read_text())


def function_hashes(workdir: Path, recorded: list[tuple[Path, dict[str, Any]]] | None = None) -> dict[str, str]:
    """mutmut's hash of each function, keyed module:function (e.g. router:xǁConfigRouterǁ__init__); see by_hand.py.

    `recorded`: the metas a caller has already read, so they are not read twice.
    """
    root = workdir / "mutants" / "multidb"
    return {
        f"{meta.relative_to(root).as_posix().removesuffix('.py.meta').replace('/', '.')}:{function}": digest
        for meta, data in (recorded if recorded is not None else metas(workdir))
        for function, digest in data.get("hash_by_function_name", {}).items()
    }


def pending(workdir: Path, patterns: list[str]) -> list[str]:
    """Mutants matching a pattern with no verdict: none from mutmut, and none by hand (by-hand.tsv) that holds."""
    recorded = list(metas(workdir))
    decided_by_hand, _ = by_hand.current(by_hand.load(), function_hashes(workdir, recorded))
    return [
        key
        for _, data in recorded
        for key, code in data["exit_code_by_key"].items()
        if code is None
        and key not in decided_by_hand
        and (not patterns or any(fnmatch.fnmatch(key, pattern) for pattern in patterns))
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


def save(workdir: Path, store: Path) -> int:
    """Write each module's decided verdicts (and the function hashes mutmut checks them against) to STORE."""
    saved = 0
    for meta, data in metas(workdir):
        decided = {key: code for key, code in data["exit_code_by_key"].items() if code is not None}
        target = store / meta.relative_to(workdir / "mutants")
        if not decided:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        # Only what mutmut needs to trust a verdict: durations change every run and would only churn the diff.
        kept = {"exit_code_by_key": decided, "hash_by_function_name": data["hash_by_function_name"]}
        target.write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n")
        saved += len(decided)
    return saved


def seed(workdir: Path, store: Path) -> int:
    """Put STORE's verdicts in WORKDIR's mutants/ and generate the mutants there, as `mutmut run` would first.

    Generating here (mutmut's own step, which keeps a verdict only while its function's hash is unchanged)
    makes the metas name every current mutant, so `pending` can tell run.sh exactly which are left.
    """
    for recorded in sorted(store.rglob("*.py.meta")):
        data = json.loads(recorded.read_text())
        target = workdir / "mutants" / recorded.relative_to(store)
        target.parent.mkdir(parents=True, exist_ok=True)
        # The keys mutmut's SourceFileMutationData.load requires.
        data |= {"durations_by_key": {}, "estimated_durations_by_key": {}, "type_check_error_by_key": {}}
        target.write_text(json.dumps(data, indent=4))
    _generate(workdir)
    return sum(1 for _, data in metas(workdir) for code in data["exit_code_by_key"].values() if code is not None)


def _generate(workdir: Path) -> None:
    from mutmut.__main__ import copy_src_dir, create_mutants, setup_source_paths
    from mutmut.utils.file_utils import copy_also_copy_files

    os.chdir(workdir)  # mutmut reads pyproject.toml and writes mutants/ relative to the working directory
    with contextlib.redirect_stdout(io.StringIO()):  # it prints every file name; `mutmut run` hides that too
        copy_src_dir()
        copy_also_copy_files()  # tests, app/, the plugin: what a recheck (MUTATION_RECHECK) runs without mutmut
        setup_source_paths()
        create_mutants(os.cpu_count() or 2)


def main(command: str, workdir: Path, rest: list[str]) -> int:
    if command == "pending":
        for name in pending(workdir, rest):  # one per line, and no line at all when none is pending
            print(name)
    elif command == "forget":
        print(f"forgot {forget(workdir, set(rest))} verdicts ({', '.join(sorted(rest))}) under {workdir}/mutants")
    elif command == "save":
        saved = save(workdir, Path(rest[0]).resolve())
        print(f"saved {saved} verdicts to {rest[0]} (commit them: the next run starts from there)")
    elif command == "seed":
        kept = seed(workdir, Path(rest[0]).resolve())
        print(f"mutants generated; {kept} verdicts recorded in {rest[0]} still hold (their functions are unchanged)")
    else:
        print(f"verdicts.py: unknown command {command!r}; use pending, forget, save or seed", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2]).resolve(), sys.argv[3:]))
