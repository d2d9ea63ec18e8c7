#!/usr/bin/env bash
# `make mutation`: mutmut over app/multidb against tests/unit, in a staged copy under build/mutation.
# The code imports `multidb` (app/ is on the path), and mutmut names mutants by file path, so the copy
# puts multidb/ at the top; app/ keeps manage.py, project and apps. Not part of `make test` or CI.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
workdir=${MUTATION_DIR:-$repo/build/mutation}
jobs=${MUTATION_JOBS:-2}
# A mutant still alive after this many seconds of tests is reported "timeout" (not killed): bounds the run.
export MUTATION_BUDGET_SECONDS=${MUTATION_BUDGET_SECONDS:-60}
# own: a mutant runs only its module's own test files (mutation_plugin.TARGETED); all (default): every test reaching it.
export MUTATION_TESTS=${MUTATION_TESTS:-all}
# Mutant name patterns (fnmatch), e.g. '*__mutmut_*[05]' for a 20% sample; empty: every mutant.
read -r -a patterns <<< "${MUTANTS:-}"

# MUTATION_RESUME=1 continues the last run (mutmut keeps its stats and verdicts; app/multidb must be
# unchanged since, the tests may have grown); else a fresh copy.
# What is not mutated, copied (again) into $1: the tests, the harness and everything under app/ but multidb/
# (manage.py, project, apps, status, ...).
copy_unmutated() {
    rm -rf "$1/tests" "$1/app" && mkdir -p "$1/app"
    find "$repo/app" -mindepth 1 -maxdepth 1 ! -name multidb -exec cp -r {} "$1/app/" \;
    cp -r "$repo/tests" "$1/"
    cp "$repo/mk/mutation/sitecustomize.py" "$repo/mk/mutation/mutation_plugin.py" "$1/"
    find "$1" -name __pycache__ -prune -exec rm -rf {} +
}

# The verdicts of earlier runs, committed: a run starts from them and adds its own when it ends (or is stopped).
store=$repo/mk/mutation/recorded
verdicts() { "$repo/.venv/bin/python" "$repo/mk/mutation/verdicts.py" "$@"; }

if [[ "${MUTATION_RESUME:-0}" != 1 || ! -d "$workdir/mutants" ]]; then
    rm -rf "$workdir"
    mkdir -p "$workdir"
    cp -r "$repo/app/multidb" "$workdir/multidb"
    cp -r "$repo/config" "$repo/pyproject.toml" "$workdir/"
    copy_unmutated "$workdir"
    git -C "$repo" describe --always --dirty > "$workdir/commit"
    # MUTATION_SEED=0: start from nothing (e.g. after weakening a test, which can make a "killed" verdict stale).
    verdicts seed "$workdir" "$( [[ "${MUTATION_SEED:-1}" == 0 ]] && echo "$workdir/none" || echo "$store")"
else
    began=$(cat "$workdir/commit")
    if ! git -C "$repo" diff --quiet "${began%-dirty}" -- app/multidb; then
        echo "mutation: app/multidb changed since the run in $workdir began ($began): its verdicts are stale; run again without MUTATION_RESUME" >&2
        exit 2
    fi
    # Tests added since the run began (to kill a survivor) take part; mutmut runs pytest inside mutants/.
    copy_unmutated "$workdir"
    copy_unmutated "$workdir/mutants"
fi
# e.g. MUTATION_FORGET=timeout: run the mutants a paused or cut-short run left undecided again.
if [[ -n "${MUTATION_FORGET:-}" ]]; then
    read -r -a statuses <<< "$MUTATION_FORGET"
    verdicts forget "$workdir" "${statuses[@]}"
fi
# MUTATION_RECHECK=1: instead of mutmut, run each verdict made by hand (recorded/by-hand.tsv) again.
if [[ "${MUTATION_RECHECK:-0}" == 1 ]]; then
    exec "$repo/.venv/bin/python" "$repo/mk/mutation/by_hand.py" recheck "$workdir" "${patterns[@]}"
fi
# mutmut re-runs every mutant it is given by name or pattern, so give it only those with no verdict.
mapfile -t names < <(verdicts pending "$workdir" "${patterns[@]}")
if [[ ${#names[@]} -eq 0 ]]; then
    echo "mutmut run: no mutant left without a verdict${MUTANTS:+ among $MUTANTS}"
    exec "$repo/.venv/bin/python" "$repo/mk/mutation/score.py" "$workdir"
fi
trap 'verdicts save "$workdir" "$store"' EXIT

cd "$workdir"
started=$(date +%s)
"$repo/.venv/bin/mutmut" run --max-children "$jobs" "${names[@]}" > mutmut.log 2>&1 || {
    tail -40 mutmut.log
    echo "mutmut run failed; the whole log: $workdir/mutmut.log" >&2
    exit 1
}
echo "mutmut run: $(( $(date +%s) - started ))s with $jobs workers, budget ${MUTATION_BUDGET_SECONDS}s a mutant (${MUTATION_TESTS} tests), ${MUTANTS:-all mutants}, on $(cat commit)"
"$repo/.venv/bin/python" "$repo/mk/mutation/score.py" "$workdir"
