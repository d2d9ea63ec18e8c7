#!/usr/bin/env bash
# A replication role, so a streaming replica can copy this server (the `replica`
# profile's db-blog-replica runs pg_basebackup and then streams as this role).
# It may log in for replication only, and only from the container's own
# networks (pg_hba `samenet`), with scram-sha-256; it owns nothing and is
# granted nothing.
#
# Runs once at database init (docker-entrypoint-initdb.d, after
# 10-least-privilege.sh), and does nothing unless a password is given. Idempotent,
# so a server initialised before this script existed gets the role by running it
# again in the running container (compose/README.md, "The replica profile").
# Inputs: POSTGRES_USER, DB_REPLICATION (role name, default replicator) and
# DB_REPLICATION_PASSWORD or its *_FILE variant.
# No trailing exec: an init script that is not executable is sourced by the entrypoint.
set -euo pipefail

replication_role=${DB_REPLICATION:-replicator}
declare -F secret >/dev/null || source /usr/local/lib/multidb/secret.sh  # secret VAR: $VAR or $VAR_FILE
DB_REPLICATION_PASSWORD=$(secret DB_REPLICATION_PASSWORD --optional)

if [[ -z ${DB_REPLICATION_PASSWORD:-} ]]; then
  echo "replication: no DB_REPLICATION_PASSWORD; no replication role"
else
  # The password travels in psql's environment (read with \getenv), never on a command line.
  hba_file=$(DB_REPLICATION_PASSWORD=$DB_REPLICATION_PASSWORD \
    psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --tuples-only --no-align \
      --username "${POSTGRES_USER:-postgres}" --dbname postgres --set role="$replication_role" <<'SQL'
\getenv password DB_REPLICATION_PASSWORD
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') AS missing \gset
\if :missing
CREATE ROLE :"role" REPLICATION LOGIN PASSWORD :'password';
\else
ALTER ROLE :"role" REPLICATION LOGIN PASSWORD :'password';
\endif
SHOW hba_file;
SQL
  )
  # Replication connections match only lines naming `replication`; the image's `host all all all` does not.
  hba_line="host replication $replication_role samenet scram-sha-256"
  if ! grep -qxF "$hba_line" "$hba_file"; then
    printf '%s\n' "$hba_line" >>"$hba_file"
  fi
  psql --no-psqlrc --quiet --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    --command 'SELECT pg_reload_conf()' >/dev/null
  echo "replication: $replication_role may stream this server to a replica on its own networks"
fi
