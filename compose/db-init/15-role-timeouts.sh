#!/usr/bin/env bash
# The runtime role's timeouts (config key databases.<alias>.timeouts, written into this service's
# environment by scripts/compose_databases.py): a runaway query or a forgotten open transaction of the
# app is ended by the server. Runs at database init (docker-entrypoint-initdb.d) and again on every
# `make up` (scripts/stack-up.sh), so a changed value reaches an existing database; new sessions get it.
# Inputs: POSTGRES_USER, POSTGRES_DB, DB_RUNTIME, DB_RUNTIME_STATEMENT_TIMEOUT and
# DB_RUNTIME_IDLE_IN_TRANSACTION_TIMEOUT (milliseconds, 0 = none).
set -euo pipefail

for name in DB_RUNTIME_STATEMENT_TIMEOUT DB_RUNTIME_IDLE_IN_TRANSACTION_TIMEOUT; do
  if [[ ! ${!name:-} =~ ^[0-9]+$ ]]; then
    echo "role timeouts: $name must be a whole number of milliseconds (databases.<alias>.timeouts in the config)" >&2
    exit 2
  fi
done
psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set runtime="${DB_RUNTIME:?}" --set statement="$DB_RUNTIME_STATEMENT_TIMEOUT" \
  --set idle="$DB_RUNTIME_IDLE_IN_TRANSACTION_TIMEOUT" <<'SQL'
ALTER ROLE :"runtime" SET statement_timeout = :statement;
ALTER ROLE :"runtime" SET idle_in_transaction_session_timeout = :idle;
SQL
echo "role timeouts: ${DB_RUNTIME} statement_timeout ${DB_RUNTIME_STATEMENT_TIMEOUT} ms, idle_in_transaction_session_timeout ${DB_RUNTIME_IDLE_IN_TRANSACTION_TIMEOUT} ms"
