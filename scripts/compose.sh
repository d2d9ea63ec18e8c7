#!/usr/bin/env bash
# `docker compose` for this repository's stack, from any directory: repository
# root as project directory, compose/compose.yaml plus the database services
# generated from config/compose*.yaml (build/compose.databases.yaml; `make
# compose-files`), the env file (ENV_FILE, default .env) and the base images
# chosen by ensure-images.sh. With the `ha` profile asked for or running (scripts/stack-shape.sh), the
# generated file is build/compose.databases-ha.yaml instead: Patroni nodes and etcd, no plain servers
# (docs/ha.md); COMPOSE_PROFILES=ha is then set so the app reads config/compose-ha.yaml.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
env_file=${ENV_FILE:-.env}
[[ $env_file == /* ]] || env_file=$root/$env_file
# The app image is labelled with a digest of what it is built from, so
# stack-up.sh can skip a build that would change nothing.
APP_SOURCE_SHA=$("$root/scripts/app-source-sha.sh")
export APP_SOURCE_SHA
# The secrets of the env file as files, which Compose bind-mounts (scripts/ensure-secrets.sh).
SECRETS_DIR=$("$root/scripts/ensure-secrets.sh" "$env_file")
export SECRETS_DIR
# A missing env file is not an error here (`make down` on a fresh clone); Compose
# still refuses to create a container whose secret variable is unset.
env_files=()
for file in "$env_file" "$root/build/images.env"; do
  [[ -f $file ]] && env_files+=(--env-file "$file")
done
# Not generated yet (`make down` on a fresh clone): the project name is all down needs.
files=(-f "$root/compose/compose.yaml")
databases=$root/build/compose.databases.yaml
if [[ $("$root/scripts/stack-shape.sh") == ha ]]; then
  databases=$root/build/compose.databases-ha.yaml
  [[ ,${COMPOSE_PROFILES:-}, == *,ha,* ]] || export COMPOSE_PROFILES=ha
fi
[[ -f $databases ]] && files+=(-f "$databases")
exec docker compose --project-directory "$root" "${files[@]}" "${env_files[@]}" "$@"
