#!/usr/bin/env bash
# Entrypoint of a streaming replica (db-blog-replica, the `replica` profile), for
# the official postgres image and compose/images/postgres alike: on first start
# (no cluster in PGDATA) copy the primary with pg_basebackup --write-recovery-conf,
# which leaves standby.signal and primary_conninfo in the copy; then hand over to
# the image's own entrypoint, which finds a cluster, skips initialisation and
# starts postgres: a hot standby streaming from the primary.
# Inputs: PRIMARY_HOST, PRIMARY_PORT (default 5432), REPLICATION_USER and
# REPLICATION_PASSWORD or its *_FILE variant; PGDATA (set by both images).
set -euo pipefail
declare -F secret >/dev/null || source /usr/local/lib/multidb/secret.sh  # secret VAR: $VAR or $VAR_FILE

main() {
  if [[ ! -s $PGDATA/PG_VERSION ]]; then
    copy_primary
  fi
  exec docker-entrypoint.sh "$@"
}

copy_primary() {
  local password
  password=$(secret REPLICATION_PASSWORD)
  if [[ $(id -u) == 0 ]]; then
    install -d -o postgres -g postgres -m 700 "$PGDATA"
  else
    chmod 700 "$PGDATA"
  fi
  echo "replica: copying ${PRIMARY_HOST:?} with pg_basebackup as ${REPLICATION_USER:?}"
  # The password travels in the environment; --write-recovery-conf keeps it in the copy's
  # postgresql.auto.conf (mode 600), where the standby's WAL receiver reads it.
  if ! PGPASSWORD=$password as_postgres pg_basebackup --pgdata "$PGDATA" \
    --host "$PRIMARY_HOST" --port "${PRIMARY_PORT:-5432}" --username "$REPLICATION_USER" --no-password \
    --wal-method stream --checkpoint fast --write-recovery-conf; then
    echo "replica: pg_basebackup from $PRIMARY_HOST failed. If $PRIMARY_HOST was initialised before it had" \
      "$REPLICATION_USER, run /docker-entrypoint-initdb.d/30-replication.sh in its container as user postgres" \
      "(compose/README.md, \"The replica profile\")" >&2
    exit 1
  fi
  echo "replica: copy complete; starting as a standby of $PRIMARY_HOST"
}

as_postgres() {
  if [[ $(id -u) == 0 ]]; then
    gosu postgres "$@"
  else
    "$@"
  fi
}

main "$@"
