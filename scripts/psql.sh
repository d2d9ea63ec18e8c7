#!/usr/bin/env bash
# `make psql DB=<alias>`: psql as the superuser on the alias's own database, in its server's
# container. The alias -> service and database table is build/compose.aliases, generated from
# config/compose*.yaml (scripts/compose_databases.py). Extra arguments go to psql.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly ALIASES=build/compose.aliases
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
tty=()
[[ -t 0 ]] || tty=(-T)   # piped SQL: no terminal to allocate
profiles=()
[[ -z $profile ]] || profiles=(--profile "$profile")
exec scripts/compose.sh "${profiles[@]}" exec "${tty[@]}" "$service" psql -U postgres -d "$dbname" "$@"
