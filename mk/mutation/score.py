"""Print the mutation score of `make mutation` (per module and overall) and write the undecided mutants.

A mutant counts as killed when mutmut killed it, or when a test run by hand with the mutant on kills it
(recorded/by-hand.tsv); equivalent mutants listed there are left out of the score. A verdict by hand whose
function changed since is stale and not counted.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from by_hand import current, load  # mk/mutation/, this script's folder
from mutmut.stats import status_by_exit_code
from verdicts import function_hashes, metas


def main(workdir: Path) -> int:
    recorded = list(metas(workdir))
    if not recorded:
        print(f"no mutmut results under {workdir}/mutants: run `make mutation`", file=sys.stderr)
        return 1
    by_hand, stale = current(load(), function_hashes(workdir, recorded))
    overall: Counter[str] = Counter()
    generated = 0
    undecided: list[str] = []
    for meta, data in recorded:
        codes = data["exit_code_by_key"]
        generated += len(codes)
        counts: Counter[str] = Counter()
        for key, code in codes.items():
            status = "not checked" if code is None else status_by_exit_code[code]
            if status != "killed" and key in by_hand:
                status = "equivalent" if by_hand[key].verdict == "equivalent" else "killed by hand"
            if status == "not checked":
                continue  # left out of a sampled run (MUTANTS=pattern): outside the score
            counts[status] += 1
            if status not in ("killed", "killed by hand", "equivalent"):
                undecided.append(f"{key}: {status}")
        overall.update(counts)
        module = meta.relative_to(workdir / "mutants").with_suffix("").with_suffix("")
        if counts:
            print(f"  {module!s:28} {_score(counts)}")
    (workdir / "not-killed.txt").write_text("".join(f"{line}\n" for line in sorted(undecided)))
    checked = sum(overall.values())
    sample = "" if checked == generated else f", a sample of {checked} of the {generated} mutants"
    print(f"mutation score (app/multidb{sample}): {_score(overall)}")
    if stale:
        print(f"{len(stale)} verdicts by hand are stale (their function changed): decide those mutants again")
    print(f"undecided (survived, timeout), one per line: {workdir / 'not-killed.txt'}")
    return 0


def _score(counts: Counter[str]) -> str:
    """killed / (checked - equivalent), then how each was decided."""
    killed = counts["killed"] + counts["killed by hand"]
    scored = sum(counts.values()) - counts["equivalent"]
    share = f"{killed}/{scored} killed ({100 * killed / scored:.1f}%)" if scored else "no mutants"
    details = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()) if status != "killed" and n)
    return f"{share}  [{counts['killed']} by mutmut{', ' + details if details else ''}]"


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1])))
