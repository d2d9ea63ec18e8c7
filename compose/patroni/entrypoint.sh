#!/usr/bin/env bash
# A Patroni node of the Compose `ha` profile (docs/ha.md): its passwords in Patroni's environment
# (env.sh), then Patroni, which initialises or clones PostgreSQL and keeps it leader or standby.
# Runs as postgres on a read-only root; arguments (the image's CMD) are ignored.
set -euo pipefail

source /usr/local/lib/multidb-patroni/env.sh
exec patroni "$PATRONI_CONFIG"
