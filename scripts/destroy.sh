#!/usr/bin/env bash
# `make destroy`: remove the stack and its data volumes, after a yes on the terminal unless FORCE=1.
# The backup repository (volume pgbackrest, docs/backups.md) is kept unless a second question gets a
# yes, or DELETE_BACKUPS=1: a destroyed stack can be brought back with `make up` and `make restore`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
project=${COMPOSE_PROJECT_NAME:-$(basename "$PWD")}
ask() {
  [[ -t 0 ]] || { echo "destroy: no terminal to ask on; run make destroy FORCE=1 (DELETE_BACKUPS=1 to drop backups too)" >&2; exit 1; }
  read -r -p "$1 [y/N] " answer
  [[ $answer == y ]]
}
if [[ ${FORCE:-} != 1 ]]; then
  ask "Delete every database of this stack (${ENV_FILE:-.env}, project $project)?" || { echo "destroy: kept everything"; exit 1; }
fi
delete_backups=${DELETE_BACKUPS:-}
if [[ -z $delete_backups && ${FORCE:-} != 1 ]]; then
  ask "Also delete its backups (volume ${project}_pgbackrest)? Without them nothing can be restored." && delete_backups=1
fi
scripts/compose.sh --progress quiet --profile '*' down --remove-orphans
# The secret files of this env file (scripts/ensure-secrets.sh); the env file itself is kept.
env_file=${ENV_FILE:-.env}
[[ $env_file == /* ]] || env_file=$PWD/$env_file
rm -rf "$(scripts/ensure-secrets.sh --dir "$env_file")"
# Every volume of the project but the repository, unless asked.
mapfile -t volumes < <(docker volume ls -q --filter "label=com.docker.compose.project=$project")
for volume in "${volumes[@]}"; do
  if [[ $volume == "${project}_pgbackrest" && $delete_backups != 1 ]]; then
    echo "destroy: kept the backups (volume $volume; make destroy DELETE_BACKUPS=1 removes them)"
    continue
  fi
  docker volume rm "$volume" >/dev/null
done
