#!/usr/bin/env bash
# Patroni's post_bootstrap (patroni.yml): runs once, on the node that initialised the cluster, before
# it takes the leader key. Creates the alias's database and runs the plain stack's init scripts
# (compose/db-init: owner and runtime roles, least privilege, timeouts, rehearsal reader) over the
# local socket, as the official image's entrypoint does. 30-replication.sh is left out: Patroni itself
# creates its replication role and writes pg_hba.conf. Patroni passes a connection URL; unused.
set -euo pipefail

export POSTGRES_USER=${POSTGRES_USER:-postgres} PGHOST=/var/run/postgresql
psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "$POSTGRES_USER" --dbname postgres \
  --set db="${POSTGRES_DB:?}" <<<'CREATE DATABASE :"db";'
for script in /docker-entrypoint-initdb.d/*.sh; do
  [[ $script == */30-replication.sh ]] && continue
  bash "$script"
done
echo "post_bootstrap: $POSTGRES_DB ready with its roles"
