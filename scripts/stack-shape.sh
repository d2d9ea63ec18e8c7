#!/usr/bin/env bash
# Print the shape of this env file's stack, `ha` (Patroni nodes and etcd, build/compose.databases-ha.yaml;
# docs/ha.md) or `plain` (one server per alias, build/compose.databases.yaml), so scripts/compose.sh,
# psql.sh and ha.sh act on whichever is asked for or running: COMPOSE_PROFILES (the environment's, else
# the env file's) containing ha; when no profile is named, whether the project runs an etcd service.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
env_file=${ENV_FILE:-.env}
[[ $env_file == /* ]] || env_file=$root/$env_file
from_file() { [[ -f $env_file ]] && sed -n "s/^$1=//p" "$env_file" | tail -n 1; }
profiles=${COMPOSE_PROFILES-$(from_file COMPOSE_PROFILES || true)}
if [[ ,$profiles, == *,ha,* ]]; then
  echo ha
elif [[ -n $profiles ]]; then
  echo plain
else
  # Compose's default project name: the directory's, lower-cased.
  project=${COMPOSE_PROJECT_NAME:-$(from_file COMPOSE_PROJECT_NAME || true)}
  project=${project:-$(basename "$root" | tr '[:upper:]' '[:lower:]')}
  running=$(docker ps -aq --filter "label=com.docker.compose.project=$project" \
    --filter "label=com.docker.compose.service=etcd" 2>/dev/null || true)
  [[ -n $running ]] && echo ha || echo plain
fi
