#!/usr/bin/env bash
# patronictl with this node's configuration and REST API credentials (env.sh), for `make ps` and
# `make failover` (scripts/ha.sh): docker compose exec db-blog-1 bash .../ctl.sh list
set -euo pipefail

source /usr/local/lib/multidb-patroni/env.sh
exec patronictl -c "$PATRONI_CONFIG" "$@"
