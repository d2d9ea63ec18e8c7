#!/usr/bin/env bash
# `make destroy`: remove the stack and its data volumes, after a yes on the terminal unless FORCE=1.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ ${FORCE:-} != 1 ]]; then
  if [[ ! -t 0 ]]; then
    echo "destroy: no terminal to ask on; run make destroy FORCE=1" >&2
    exit 1
  fi
  read -r -p "Delete every database of this stack (${ENV_FILE:-.env}, project ${COMPOSE_PROJECT_NAME:-$(basename "$PWD")})? [y/N] " answer
  [[ $answer == y ]] || { echo "destroy: kept everything"; exit 1; }
fi
exec scripts/compose.sh --progress quiet --profile '*' down --volumes --remove-orphans
