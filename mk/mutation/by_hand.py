"""Verdicts decided by hand, for mutants mutmut left undecided or saw survive (mk/mutation/recorded/by-hand.tsv).

    by_hand.py recheck WORKDIR [PATTERN ...]   run each "killed" entry's tests again with its mutant on

mutmut runs a mutant against the unit tests within a budget. Some mutants need tests it cannot run in time
(the slow crash tests) or at all (PostgreSQL locks, grants, streaming replication: the integration layer),
and some survive because they change nothing. Each such mutant is decided by hand and written down, one
tab-separated line each:

    MUTANT  FUNCTION_HASH  killed      TEST_NODE [TEST_NODE ...]
    MUTANT  FUNCTION_HASH  equivalent  why nothing observable changes

FUNCTION_HASH is mutmut's hash of the mutated function when the verdict was made: an entry whose function
has changed since is stale (its mutant numbers may now name other mutations) and is not counted.
`recheck` switches each mutant on in WORKDIR/mutants (a `make mutation` copy of the current tree) and runs
its tests; one that no longer fails is reported and the command exits 1. It runs the same tests with no
mutant first, so a broken environment is not mistaken for kills.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

LEDGER = Path(__file__).resolve().parent / "recorded" / "by-hand.tsv"
VERDICTS = ("killed", "equivalent")


@dataclass(frozen=True)
class Entry:
    mutant: str
    function_hash: str
    verdict: str
    evidence: str  # the test nodes (killed) or the reason (equivalent)

    @property
    def function(self) -> str:
        """The key mutmut hashes functions by, e.g. "xǁConfigRouterǁ__init__", and its module."""
        module, _, name = self.mutant.rpartition("__mutmut_")[0].partition(".")[2].partition(".")
        return f"{module}:{name}"


def load(path: Path = LEDGER) -> list[Entry]:
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 4 or fields[2] not in VERDICTS or not fields[3].strip():
            raise SystemExit(f"{path}:{number}: expected MUTANT<TAB>HASH<TAB>killed|equivalent<TAB>evidence")
        entries.append(Entry(*fields))
    return entries


def current(entries: Iterable[Entry], hashes: dict[str, str]) -> tuple[dict[str, Entry], list[Entry]]:
    """The entries whose function is unchanged (by mutant name), and the stale ones."""
    fresh, stale = {}, []
    for entry in entries:
        if hashes.get(entry.function) == entry.function_hash:
            fresh[entry.mutant] = entry
        else:
            stale.append(entry)
    return fresh, stale


def _pytest(mutants: Path, nodes: list[str], mutant: str) -> subprocess.CompletedProcess[str]:
    integration = any(node.startswith("tests/integration/") for node in nodes)
    # The unit layer runs under the mutation plugin (it leaves out runserver tests, where no mutant is active);
    # the integration layer needs Docker, as in CI.
    plugin = [] if integration else ["-p", "mutation_plugin"]
    env = {**os.environ, "MUTANT_UNDER_TEST": mutant, "PYTHONPATH": str(mutants), "MUTATION_BUDGET_SECONDS": "0"}
    if integration:
        env["CI"] = "true"  # a missing Docker is then an error, never a skip that would pass
    command = [sys.executable, "-m", "pytest", *plugin, "-x", "-q", "-p", "no:cacheprovider", *nodes]
    return subprocess.run(command, cwd=mutants, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - our own pytest


def recheck(workdir: Path, patterns: list[str]) -> int:
    mutants = workdir / "mutants"
    repo = Path(__file__).resolve().parents[2]
    for needed in ("compose", "build/images.env"):  # the integration fixtures read them from the tree
        target = mutants / needed
        if not target.exists() and (repo / needed).exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            copy = shutil.copytree if (repo / needed).is_dir() else shutil.copy
            copy(repo / needed, target)
    from verdicts import function_hashes  # mk/mutation/, this script's folder

    fresh, stale = current(load(), function_hashes(workdir))
    chosen = [
        entry
        for entry in fresh.values()
        if entry.verdict == "killed" and (not patterns or any(fnmatch.fnmatch(entry.mutant, p) for p in patterns))
    ]
    for layer in ("tests/unit/", "tests/integration/"):
        nodes = sorted({node for entry in chosen for node in entry.evidence.split() if node.startswith(layer)})
        clean = _pytest(mutants, nodes, "") if nodes else None
        if clean is not None and clean.returncode != 0:
            print(clean.stdout[-3000:], clean.stderr[-2000:], sep="\n")
            print(f"recheck: the tests of {layer} fail with no mutant on; fix that first", file=sys.stderr)
            return 2
    alive = []
    for number, entry in enumerate(chosen, 1):
        result = _pytest(mutants, entry.evidence.split(), entry.mutant)
        # Exit code 1 is "tests failed"; anything else (2 interrupted, 4 no such test, 5 none collected) is no kill.
        killed = result.returncode == 1
        verdict = "killed" if killed else f"NOT killed (exit {result.returncode})"
        print(f"[{number}/{len(chosen)}] {entry.mutant}: {verdict}")
        if not killed:
            alive.append(entry.mutant)
    print(f"recheck: {len(chosen) - len(alive)}/{len(chosen)} still killed; {len(stale)} stale entries not run")
    for mutant in alive:
        print(f"  not killed: {mutant}")
    return 1 if alive else 0


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "recheck":
        print("usage: by_hand.py recheck WORKDIR [PATTERN ...]", file=sys.stderr)
        sys.exit(2)
    sys.exit(recheck(Path(sys.argv[2]).resolve(), sys.argv[3:]))
