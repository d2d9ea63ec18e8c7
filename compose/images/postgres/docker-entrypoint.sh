#!/usr/bin/env bash
# Entrypoint with the official postgres image's contract: POSTGRES_USER,
# POSTGRES_PASSWORD, POSTGRES_DB, POSTGRES_INITDB_ARGS (and their *_FILE
# variants), POSTGRES_HOST_AUTH_METHOD, /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz
# run once against a socket-only temporary server, then `exec postgres`.
set -Eeuo pipefail

main() {
  if [[ ${1:-} == -* ]]; then
    set -- postgres "$@"
  fi
  if [[ ${1:-} == postgres ]]; then
    if [[ $(id -u) == 0 ]]; then
      install -d -o postgres -g postgres -m 700 "$PGDATA"
      install -d -o postgres -g postgres -m 3777 /var/run/postgresql
      exec gosu postgres "${BASH_SOURCE[0]}" "$@"
    fi
    if [[ ! -s $PGDATA/PG_VERSION ]]; then
      init_cluster
    fi
  fi
  exec "$@"
}

# file_env VAR [DEFAULT]: VAR from $VAR or from the file named by $VAR_FILE, never both.
file_env() {
  local var=$1 file_var="${1}_FILE" default=${2:-} value
  if [[ -n ${!var:-} && -n ${!file_var:-} ]]; then
    echo "error: both $var and $file_var are set (but are exclusive)" >&2
    exit 1
  fi
  value=$default
  if [[ -n ${!var:-} ]]; then
    value=${!var}
  elif [[ -n ${!file_var:-} ]]; then
    value=$(<"${!file_var}")
  fi
  export "$var=$value"
  unset "$file_var"
}

init_cluster() {
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  local auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [[ -z $POSTGRES_PASSWORD && $auth != trust ]]; then
    echo "error: database is uninitialized and superuser password is not specified." >&2
    echo "       Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), or POSTGRES_HOST_AUTH_METHOD=trust." >&2
    exit 1
  fi

  local -a initdb_args=(--username="$POSTGRES_USER" --auth-local=trust --auth-host="$auth")
  # shellcheck disable=SC2206  # POSTGRES_INITDB_ARGS is a word list by contract
  initdb_args+=($POSTGRES_INITDB_ARGS)
  if [[ -n $POSTGRES_PASSWORD ]]; then
    initdb "${initdb_args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD")
  else
    initdb "${initdb_args[@]}"
  fi
  printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

  # Socket only: nothing outside the container can connect (or see "ready")
  # until the init scripts are done.
  export PGPASSWORD=${PGPASSWORD:-$POSTGRES_PASSWORD}
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
  create_database
  run_init_scripts
  pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  echo
  echo "PostgreSQL init process complete; ready for start up."
  echo
}

psql_init() {
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"
}

create_database() {
  if [[ $POSTGRES_DB == postgres ]]; then
    return 0
  fi
  local exists
  exists=$(psql_init --dbname postgres -tA --set db="$POSTGRES_DB" \
    <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")
  if [[ -z $exists ]]; then
    psql_init --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
}

run_init_scripts() {
  local f
  shopt -s nullglob
  for f in /docker-entrypoint-initdb.d/*; do
    case $f in
      *.sh)
        if [[ -x $f ]]; then
          echo "$0: running $f"
          "$f"
        else
          echo "$0: sourcing $f"
          # shellcheck disable=SC1090
          . "$f"
        fi
        ;;
      *.sql) echo "$0: running $f"; psql_init --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) echo "$0: running $f"; gunzip -c "$f" | psql_init --dbname "$POSTGRES_DB" ;;
      *) echo "$0: ignoring $f" ;;
    esac
  done
}

main "$@"
