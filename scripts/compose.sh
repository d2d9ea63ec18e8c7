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
images=()
[[ -f $root/build/images.env ]] && images=(--env-file "$root/build/images.env")
exec docker compose --project-directory "$root" -f "$root/compose/compose.yaml" \
  --env-file "$env_file" "${images[@]}" "$@"
