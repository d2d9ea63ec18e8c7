#!/usr/bin/env bash
# Print a digest of everything the app image is built from (label multidb.source-sha).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
find app config requirements/base.lock compose/app.Dockerfile compose/app.Dockerfile.dockerignore \
  compose/app-entrypoint.sh -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 |
  LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
