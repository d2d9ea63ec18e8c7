#!/usr/bin/env bash
# Make sure the stack's env file exists and sets every key of .env.example and
# every database password the topology needs (build/compose.env-keys, written
# from config/compose*.yaml by scripts/compose_databases.py).
#
# Usage: ensure-env.sh [ENV_FILE]   (default .env). A missing file is generated
# from .env.example plus the topology's password keys, each "generate" value
# replaced by a random one (one line says so). An existing file gets a random
# value appended for each "generate" key it does not have at all (a key added
# to .env.example, or an alias added to the config, since it was written; one
# line says so); values already there are kept, never changed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly EXAMPLE=.env.example TOPOLOGY_KEYS=build/compose.env-keys
env_file=${1:-.env}

random_secret() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }

# .env.example, then one "KEY=generate" line per password of the topology.
template() {
  cat "$EXAMPLE"
  if [[ -s $TOPOLOGY_KEYS ]]; then
    printf '\n# The databases of config/compose.yaml: per alias the superuser, owner and runtime\n'
    printf '# passwords (and a replication one if a profile replicates it). `make up` appends\n'
    printf '# the passwords of an alias added to the config; it never changes existing ones.\n'
    sed 's/$/=generate/' "$TOPOLOGY_KEYS"
  fi
}

if [[ ! -f $env_file ]]; then
  mkdir -p "$(dirname "$env_file")"
  umask 077
  while IFS= read -r line; do
    if [[ $line =~ ^([A-Z0-9_]+)=generate$ ]]; then
      line="${BASH_REMATCH[1]}=$(random_secret)"
    fi
    printf '%s\n' "$line"
  done < <(template) >"$env_file.tmp"
  mv "$env_file.tmp" "$env_file"
  echo "env: no $env_file found; generated one with random passwords (git-ignored)"
  exit 0
fi

missing=() added=()
while IFS='=' read -r key value; do
  if [[ $value == generate ]] && ! grep -Eq "^${key}=" "$env_file"; then
    [[ -z $(tail -c 1 "$env_file") ]] || echo >>"$env_file"   # a hand-edited last line without newline
    printf '%s=%s\n' "$key" "$(random_secret)" >>"$env_file"
    added+=("$key")
  fi
  grep -Eq "^${key}=.+" "$env_file" || missing+=("$key")
done < <(template | grep -E '^[A-Z0-9_]+=')
if ((${#added[@]})); then
  echo "env: added random values for ${added[*]} to $env_file (new in $EXAMPLE or config/compose*.yaml)"
fi
if ((${#missing[@]})); then
  echo "env: $env_file lacks a value for: ${missing[*]} (see $EXAMPLE; delete $env_file to regenerate it, which needs \`make destroy\` too)" >&2
  exit 1
fi
