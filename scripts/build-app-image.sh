#!/usr/bin/env bash
# Build the app image (APP_IMAGE, default multidb/app:local) only when its
# sources changed since the last build: a fully cached build still costs ~1 s.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
image=${APP_IMAGE:-multidb/app:local}
wanted=$(scripts/app-source-sha.sh)
built=$(docker image inspect -f '{{index .Config.Labels "multidb.source-sha"}}' "$image" 2>/dev/null || true)
if [[ $wanted != "$built" ]]; then
  exec scripts/compose.sh --progress quiet build --quiet migrate
fi
