#!/usr/bin/env bash
# Run once at database init (docker-entrypoint-initdb.d): this container's one
# database gets an owner role (owns the schema; the `migrate` job) and a runtime
# role (reads and writes rows; the `app`), and nobody else may connect to it.
# Inputs: POSTGRES_USER, POSTGRES_DB, DB_OWNER, DB_RUNTIME and their passwords
# as DB_OWNER_PASSWORD / DB_RUNTIME_PASSWORD or the *_FILE variants.
set -euo pipefail

declare -F secret >/dev/null || source /usr/local/lib/multidb/secret.sh  # secret VAR: $VAR or $VAR_FILE

# Passwords travel in the environment of psql (read with \getenv), never on a command line.
owner_password=$(secret DB_OWNER_PASSWORD)
runtime_password=$(secret DB_RUNTIME_PASSWORD)
DB_OWNER_PASSWORD=$owner_password DB_RUNTIME_PASSWORD=$runtime_password \
  psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set db="$POSTGRES_DB" --set owner="${DB_OWNER:?}" --set runtime="${DB_RUNTIME:?}" <<'SQL'
\getenv owner_password DB_OWNER_PASSWORD
\getenv runtime_password DB_RUNTIME_PASSWORD

CREATE ROLE :"owner" LOGIN PASSWORD :'owner_password';
CREATE ROLE :"runtime" LOGIN PASSWORD :'runtime_password';

-- Connect: only this database, only its two roles (and the superuser).
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"owner", :"runtime";
REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
REVOKE CONNECT ON DATABASE template1 FROM PUBLIC;

-- Schema: the owner role creates, alters and drops; nobody else may create.
ALTER SCHEMA public OWNER TO :"owner";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"runtime";

-- Rows: whatever the owner creates later (every migration) is readable and writable by the runtime role.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"runtime";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO :"runtime";
SQL
echo "least privilege: $POSTGRES_DB owned by ${DB_OWNER}; ${DB_RUNTIME} may read and write rows"
