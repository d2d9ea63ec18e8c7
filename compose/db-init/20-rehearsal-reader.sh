#!/usr/bin/env bash
# A read-only role for staging migration rehearsals (`rehearse_migrations`):
# SELECT on every table and sequence the owner role has created or will create,
# no write privilege, and default_transaction_read_only on as a second guard.
#
# Runs once at database init (docker-entrypoint-initdb.d, after
# 10-least-privilege.sh), where it creates the role without a password
# (NOLOGIN); `make rehearse ENV=compose` runs it again in the running
# container with REHEARSAL_READER_PASSWORD set, which lets the role log in with
# that password and grants SELECT on tables created since. Idempotent.
# Inputs: POSTGRES_USER, POSTGRES_DB, DB_OWNER; optional REHEARSAL_READER
# (default rehearsal_reader) and REHEARSAL_READER_PASSWORD or its *_FILE variant.
# No trailing exec: an init script that is not executable is sourced by the entrypoint.
set -euo pipefail

reader=${REHEARSAL_READER:-rehearsal_reader}
declare -F secret >/dev/null || source /usr/local/lib/multidb/secret.sh  # secret VAR: $VAR or $VAR_FILE
REHEARSAL_READER_PASSWORD=$(secret REHEARSAL_READER_PASSWORD --optional)
login=$([[ -n ${REHEARSAL_READER_PASSWORD:-} ]] && echo true || echo false)

# The password travels in psql's environment (read with \getenv), never on a command line.
REHEARSAL_READER_PASSWORD=${REHEARSAL_READER_PASSWORD:-} \
  psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:?}" \
    --set db="$POSTGRES_DB" --set owner="${DB_OWNER:?}" --set reader="$reader" --set login="$login" <<'SQL'
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'reader') AS missing \gset
\if :missing
CREATE ROLE :"reader" NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
\endif
\if :login
\getenv reader_password REHEARSAL_READER_PASSWORD
ALTER ROLE :"reader" LOGIN PASSWORD :'reader_password';
\endif
ALTER ROLE :"reader" SET default_transaction_read_only = on;

GRANT CONNECT ON DATABASE :"db" TO :"reader";
GRANT USAGE ON SCHEMA public TO :"reader";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"reader";
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO :"reader";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT ON TABLES TO :"reader";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT ON SEQUENCES TO :"reader";
SQL
echo "rehearsal reader: $reader may read $POSTGRES_DB ($([[ $login == true ]] && echo "login enabled" || echo "no login until a password is set"))"
