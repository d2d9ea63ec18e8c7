#!/usr/bin/env bash
# `make rehearse ENV=compose`: rehearse_migrations with the running Compose stack (`make up`) as "staging".
# For each database the rehearsal reads (listed from config/compose.yaml by multidb.rehearsal.compose_sources:
# alias, service and the variables of its host, user and password), give the service's rehearsal_reader role a
# fresh password (compose/db-init/20-rehearsal-reader.sh again, piped into the container; idempotent) and point
# those variables at the container's address on the stack's network (reachable from this host) as that role.
# Passwords travel in the environment only; nothing but the role's password and its SELECT grants changes on
# the stack. Arguments go to rehearse_migrations; COMPOSE_PROJECT_NAME picks another stack.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=$root/.venv/bin/python # `make rehearse` makes it first
compose=("$root/scripts/compose.sh")
export APP_ENV=compose PYTHONPATH=$root/app${PYTHONPATH:+:$PYTHONPATH}

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

sources=$("$python" -m multidb.rehearsal.compose_sources)
while read -r alias service host_variable user_variable password_variable; do
  [[ -n $alias ]] || continue # no line at all: nothing to point
  id=$("${compose[@]}" ps --status running -q "$service")
  if [[ -z $id ]]; then
    echo "rehearse: $service ($alias) of the Compose stack is not running; start it with \`make up\`" >&2
    exit 2
  fi
  password=$(random_hex 16)
  REHEARSAL_READER_PASSWORD=$password "${compose[@]}" exec -T --user postgres \
    -e REHEARSAL_READER_PASSWORD "$service" bash -s <"$root/compose/db-init/20-rehearsal-reader.sh" >/dev/null
  address=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$id" | cut -d' ' -f1)
  export "$host_variable=$address" "$user_variable=rehearsal_reader" "$password_variable=$password"
done <<<"$sources"
DJANGO_SECRET_KEY=$(random_hex 32) # config/compose.yaml requires one; the rehearsal never uses it
export DJANGO_SECRET_KEY
exec "$python" "$root/app/manage.py" rehearse_migrations "$@"
