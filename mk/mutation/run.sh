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

rm -rf "$workdir"
mkdir -p "$workdir/app"
cp -r "$repo/app/multidb" "$workdir/multidb"
cp -r "$repo/app/manage.py" "$repo/app/project" "$repo/app/apps" "$workdir/app/"
cp -r "$repo/tests" "$repo/config" "$repo/pyproject.toml" "$workdir/"
cp "$repo/mk/mutation/sitecustomize.py" "$repo/mk/mutation/mutation_plugin.py" "$workdir/"
find "$workdir" -name __pycache__ -prune -exec rm -rf {} +

cd "$workdir"
started=$(date +%s)
"$repo/.venv/bin/mutmut" run --max-children "$jobs" > mutmut.log 2>&1 || {
    tail -40 mutmut.log
    echo "mutmut run failed; the whole log: $workdir/mutmut.log" >&2
    exit 1
}
echo "mutmut run: $(( $(date +%s) - started ))s with $jobs workers, budget ${MUTATION_BUDGET_SECONDS}s a mutant, on $(git -C "$repo" describe --always --dirty)"
exec "$repo/.venv/bin/python" "$repo/mk/mutation/score.py" "$workdir"
