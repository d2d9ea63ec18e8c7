#!/usr/bin/env bash
# `make psql DB=<alias>`: psql as the superuser on the alias's own database, in its server's
# container. The alias -> service and database table is build/compose.aliases, generated from
# config/compose*.yaml (scripts/compose_databases.py). Extra arguments go to psql.
# With the `ha` profile running (scripts/stack-shape.sh): build/compose-ha.aliases, on the alias's leader.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ALIASES=build/compose.aliases
[[ $(scripts/stack-shape.sh) != ha ]] || ALIASES=build/compose-ha.aliases
readonly ALIASES
alias=${1:-}
if [[ -z $alias ]]; then
  echo "psql: name an alias: make psql DB=<alias> (aliases: $(cut -f1 "$ALIASES" | paste -sd' ' -))" >&2
  exit 2
fi
shift
row=$(awk -F'\t' -v alias="$alias" '$1 == alias' "$ALIASES")
if [[ -z $row ]]; then
  echo "psql: config/compose.yaml: databases.$alias: no such alias; use one of: $(cut -f1 "$ALIASES" | paste -sd' ' -)" >&2
  exit 2
fi
IFS=$'\t' read -r _ service dbname profile <<<"$row"
if [[ $service == *,* ]]; then
  # Patroni nodes: the one that is not in recovery leads.
  for node in ${service//,/ }; do
    if [[ $(scripts/compose.sh exec -T "$node" psql -XtAU postgres -d postgres -c 'SELECT pg_is_in_recovery()' </dev/null 2>/dev/null) == f ]]; then
      service=$node
      break
    fi
  done
  [[ $service != *,* ]] || { echo "psql: $alias: no node of $service leads right now (make ps)" >&2; exit 1; }
  profile=''
fi
tty=()
[[ -t 0 ]] || tty=(-T)   # piped SQL: no terminal to allocate
profiles=()
[[ -z $profile ]] || profiles=(--profile "$profile")
exec scripts/compose.sh "${profiles[@]}" exec "${tty[@]}" "$service" psql -U postgres -d "$dbname" "$@"
