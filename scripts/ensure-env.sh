#!/usr/bin/env bash
# Make sure the stack's env file exists and sets every key of .env.example.
#
# Usage: ensure-env.sh [ENV_FILE]   (default .env). A missing file is generated
# from .env.example with each "generate" value replaced by a random one (one
# line says so); an existing file is only checked, never changed.
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

missing=()
while IFS= read -r key; do
  grep -Eq "^${key}=.+" "$env_file" || missing+=("$key")
done < <(sed -nE 's/^([A-Z0-9_]+)=.*/\1/p' "$EXAMPLE")
if ((${#missing[@]})); then
  echo "env: $env_file lacks a value for: ${missing[*]} (see $EXAMPLE; delete $env_file to regenerate it, which needs \`make destroy\` too)" >&2
  exit 1
fi
