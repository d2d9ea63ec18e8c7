#!/usr/bin/env bash
# `make test` after the unit layer: two lanes side by side. The layers of $1 (Ansible: its deploys keep the
# controller's CPU busy) run in the background, their output kept in build/test-logs/<layer>.log and printed
# when the other lane is done; the layers of $2 run one after the other in the foreground, printed as they go
# (their servers mostly wait: failover timeouts, restores). Exit 0 only if every layer passed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

read -r -a beside <<< "$1"
read -r -a in_turn <<< "$2"

# Each layer is a make of its own: no jobserver or -j handed down, since the tests call `make` themselves
# (make up, make restore) and read its stderr.
unset MAKEFLAGS MFLAGS MAKELEVEL

mkdir -p build/test-logs
declare -A pids
for layer in "${beside[@]}"; do
  log=build/test-logs/$layer.log
  echo "test: $layer runs beside the other layers; its output goes to $log and is printed when they end"
  make --no-print-directory "$layer" >"$log" 2>&1 &
  pids[$layer]=$!
done

status=0
if ((${#in_turn[@]})); then
  make --no-print-directory "${in_turn[@]}" || status=$?
fi

for layer in "${beside[@]}"; do
  wait "${pids[$layer]}"
  code=$?
  echo "---- $layer (ran beside the layers above; build/test-logs/$layer.log) ----"
  cat "build/test-logs/$layer.log"
  if ((code)); then
    echo "test: $layer failed (exit $code)" >&2
    status=$code
  fi
done
exit "$status"
