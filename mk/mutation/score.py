"""Print the mutation score of a finished `mutmut run` (killed / total, per module and overall) and the survivors."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code
from verdicts import metas  # mk/mutation/, this script's folder


def main(workdir: Path) -> int:
    recorded = list(metas(workdir))
    if not recorded:
        print(f"no mutmut results under {workdir}/mutants: run `make mutation`", file=sys.stderr)
        return 1
    overall: Counter[str] = Counter()
    generated = 0
    not_killed: list[str] = []
    for meta, data in recorded:
        codes = data["exit_code_by_key"]
        generated += len(codes)
        # Mutants left out of a sampled run (MUTANTS=pattern) are "not checked": outside the score.
        counts = Counter(status_by_exit_code[code] for code in codes.values() if code is not None)
        overall.update(counts)
        not_killed += [f"{key}: {status_by_exit_code[code]}" for key, code in codes.items() if code not in (None, 1, 3)]
        module = meta.relative_to(workdir / "mutants").with_suffix("").with_suffix("")
        if counts:
            print(f"  {module!s:28} {_score(counts)}")
    (workdir / "not-killed.txt").write_text("".join(f"{line}\n" for line in sorted(not_killed)))
    others = ", ".join(f"{n} {status}" for status, n in sorted(overall.items()) if status != "killed")
    checked = sum(overall.values())
    sample = "" if checked == generated else f", a sample of {checked} of the {generated} mutants"
    print(f"mutation score (app/multidb{sample}): {_score(overall)}  [{others}]")
    print(f"not killed, one per line: {workdir / 'not-killed.txt'}; see one: cd {workdir} && mutmut show NAME")
    return 0


def _score(counts: Counter[str]) -> str:
    total = sum(counts.values())
    killed = counts["killed"]
    return f"{killed}/{total} killed ({100 * killed / total:.1f}%)" if total else "no mutants"


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1])))
