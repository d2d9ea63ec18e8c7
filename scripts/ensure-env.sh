#!/usr/bin/env bash
# Make sure the stack's env file exists and sets every key of .env.example.
#
# Usage: ensure-env.sh [ENV_FILE]   (default .env). A missing file is generated
# from .env.example with each "generate" value replaced by a random one (one
# line says so). An existing file gets a random value appended for each
# "generate" key it does not have at all (a key added to .env.example since it
# was written, one line says so); otherwise it is only checked, never changed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly EXAMPLE=.env.example
env_file=${1:-.env}

random_secret() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }

if [[ ! -f $env_file ]]; then
  mkdir -p "$(dirname "$env_file")"
  umask 077
  while IFS= read -r line; do
    if [[ $line =~ ^([A-Z0-9_]+)=generate$ ]]; then
      line="${BASH_REMATCH[1]}=$(random_secret)"
    fi
    printf '%s\n' "$line"
  done <"$EXAMPLE" >"$env_file.tmp"
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
done < <(grep -E '^[A-Z0-9_]+=' "$EXAMPLE")
if ((${#added[@]})); then
  echo "env: added random values for ${added[*]} to $env_file (new in $EXAMPLE)"
fi
if ((${#missing[@]})); then
  echo "env: $env_file lacks a value for: ${missing[*]} (see $EXAMPLE; delete $env_file to regenerate it, which needs \`make destroy\` too)" >&2
  exit 1
fi
