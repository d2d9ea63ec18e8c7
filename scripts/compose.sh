#!/usr/bin/env bash
# `docker compose` for this repository's stack, from any directory: repository
# root as project directory, compose/compose.yaml, the env file (ENV_FILE,
# default .env) and the base images chosen by ensure-images.sh.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
env_file=${ENV_FILE:-.env}
[[ $env_file == /* ]] || env_file=$root/$env_file
# The app image is labelled with a digest of what it is built from, so
# stack-up.sh can skip a build that would change nothing.
APP_SOURCE_SHA=$("$root/scripts/app-source-sha.sh")
export APP_SOURCE_SHA
# A missing env file is not an error here (`make down` on a fresh clone); Compose
# still refuses to create a container whose secret variable is unset.
env_files=()
for file in "$env_file" "$root/build/images.env"; do
  [[ -f $file ]] && env_files+=(--env-file "$file")
done
exec docker compose --project-directory "$root" -f "$root/compose/compose.yaml" "${env_files[@]}" "$@"
