#!/usr/bin/env bash
# The `ha` profile's operations (docs/ha.md), through patronictl in a running node of each alias
# (compose/patroni/ctl.sh; patronictl asks etcd, so any node of the cluster answers):
#   ha.sh failover ALIAS   `make failover DB=<alias>`: planned switchover to the synchronous standby
#   ha.sh status           the Patroni part of `make ps`: per alias, leader, standby and lag
# An alias that is unknown, or not HA (no ha stack here): one line naming it, exit 2.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly ALIASES=build/compose-ha.aliases CTL=/usr/local/lib/multidb-patroni/ctl.sh
compose=(scripts/compose.sh --ansi never)

main() {
  case ${1:-} in
    failover) failover "${2:-}" ;;
    status) status ;;
    *) echo "ha: usage: ha.sh failover ALIAS | ha.sh status" >&2; exit 2 ;;
  esac
}

failover() {
  local alias=$1 row nodes node
  if [[ -z $alias ]]; then
    echo "failover: name an alias: make failover DB=<alias> (an alias of config/compose-ha.yaml)" >&2
    exit 2
  fi
  if [[ $(scripts/stack-shape.sh) != ha || ! -f $ALIASES ]]; then
    echo "failover: $alias: not an HA alias here (this stack is not the ha profile); start it with make up PROFILE=ha" >&2
    exit 2
  fi
  row=$(awk -F'\t' -v alias="$alias" '$1 == alias' "$ALIASES")
  if [[ -z $row ]]; then
    echo "failover: config/compose-ha.yaml: databases.$alias: no such HA alias; use one of: $(cut -f1 "$ALIASES" | paste -sd' ' -)" >&2
    exit 2
  fi
  IFS=$'\t' read -r _ nodes _ _ <<<"$row"
  node=$(running_node "$nodes") || { echo "failover: $alias: none of its nodes ($nodes) is running" >&2; exit 1; }
  exec "${compose[@]}" exec -T "$node" bash "$CTL" switchover --force
}

status() {
  [[ $(scripts/stack-shape.sh) == ha && -f $ALIASES ]] || return 0
  local alias nodes node
  while IFS=$'\t' read -r alias nodes _ _; do
    echo
    if ! node=$(running_node "$nodes"); then
      echo "$alias: none of its nodes ($nodes) is running"
      continue
    fi
    echo "$alias (Patroni, via $node):"
    # A node cut off from etcd would wait for it: 15 s at most, then the next alias.
    timeout 15 "${compose[@]}" exec -T "$node" bash "$CTL" list </dev/null || echo "$alias: $node did not answer"
  done <"$ALIASES"
}

# running_node "a,b": the first node of the list whose container runs.
running_node() {
  local running node
  running=$("${compose[@]}" ps --status running --services </dev/null 2>/dev/null)
  for node in ${1//,/ }; do
    grep -qx "$node" <<<"$running" && { echo "$node"; return 0; }
  done
  return 1
}

main "$@"
