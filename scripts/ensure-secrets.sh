#!/usr/bin/env bash
# The stack's secrets as files (docs/tls.md, "Hardening"): every DJANGO_SECRET_KEY and *_PASSWORD of the
# env file, one file each (the value, no newline) under build/secrets/<digest of the env file's path>,
# rewritten only when a value changed. Compose bind-mounts them at /run/secrets/ (`file:` secrets);
# environment-sourced secrets would be copied into each container's root filesystem instead, which
# Docker refuses on a read-only root. The directory is 0700, the files 0644 inside it: the services'
# users (postgres, app) read them through the bind mount, as they read Compose's own 0444 copies.
#
# Usage: ensure-secrets.sh ENV_FILE     write them; print the directory (scripts/compose.sh)
#        ensure-secrets.sh --dir ENV_FILE   print the directory only (scripts/destroy.sh)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
only_dir=0
if [[ ${1:-} == --dir ]]; then
  only_dir=1
  shift
fi
env_file=${1:?usage: ensure-secrets.sh [--dir] ENV_FILE}
dir=$root/build/secrets/$(printf '%s' "$env_file" | sha256sum | cut -c1-16)
if ((only_dir)) || [[ ! -f $env_file ]]; then
  echo "$dir"
  exit 0
fi

mkdir -p "$dir"
chmod 700 "$dir"
while IFS= read -r line; do
  [[ $line =~ ^(DJANGO_SECRET_KEY|[A-Z0-9_]+_PASSWORD)=(.*)$ ]] || continue
  key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
  if [[ ! -f $dir/$key || $(<"$dir/$key") != "$value" ]]; then
    printf '%s' "$value" >"$dir/$key.tmp"
    chmod 644 "$dir/$key.tmp"
    mv "$dir/$key.tmp" "$dir/$key"
  fi
done <"$env_file"
echo "$dir"
