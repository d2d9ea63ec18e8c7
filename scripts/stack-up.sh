#!/usr/bin/env bash
# `make up`: build the app image, start the databases and (re)apply their runtime role's timeouts,
# start the rest, wait until every service is healthy, then print the HTTPS URL and the /readyz
# verdict, read through the proxy and verified with the stack's CA (docs/tls.md). On failure, exit 1
# naming the service that failed, with the last lines of its log.
# With the `ha` profile (scripts/stack-shape.sh, docs/ha.md) the databases are etcd and the Patroni nodes
# of build/compose-ha.aliases, and the timeouts are applied on each alias's leader.
# Expects Docker, build/images.env, the generated build/compose.* files, the certificate
# (scripts/ensure-tls.sh) and the env file (see mk/stack.mk).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
compose=(scripts/compose.sh --progress quiet --ansi never)
readonly WAIT_TIMEOUT=${UP_WAIT_TIMEOUT:-300}
shape=$(scripts/stack-shape.sh)

main() {
  scripts/build-app-image.sh
  err=$(mktemp)
  trap 'rm -f "$err"' EXIT
  local servers=()
  if [[ $shape == ha ]]; then
    mapfile -t servers < <(echo etcd; cut -f2 build/compose-ha.aliases | tr , '\n')
  else
    mapfile -t servers < <(awk -F'\t' '$4 == "" {print $2}' build/compose.aliases)
  fi
  if ! "${compose[@]}" up --detach --wait --wait-timeout "$WAIT_TIMEOUT" --no-build "${servers[@]}" 2>"$err" ||
    ! apply_role_timeouts "${servers[@]}" 2>"$err" ||
    ! "${compose[@]}" up --detach --wait --wait-timeout "$WAIT_TIMEOUT" --no-build 2>"$err"; then
    report_failure "$err"
    exit 1
  fi
  local address url ca=()
  address=$("${compose[@]}" port proxy 8443)
  url="https://$address/"
  echo "up: all services healthy; app at $url (http://$("${compose[@]}" port proxy 8080)/ redirects there)"
  [[ ! -f ${TLS_DIR:-build/tls}/ca.crt ]] || ca=(--cafile "${TLS_DIR:-build/tls}/ca.crt")
  exec python3 scripts/readyz.py "${ca[@]}" "${url}readyz"
}

# The runtime role's timeouts of each server, from its environment (compose/db-init/15-role-timeouts.sh):
# the init scripts ran them once; this brings a value changed since into an existing database.
apply_role_timeouts() {
  local server
  for server in "$@"; do
    if [[ $shape == ha ]]; then
      # Patroni nodes: on the leader only (a standby is read-only and replays the leader's change).
      [[ $server == etcd ]] && continue
      "${compose[@]}" exec -T "$server" bash -c \
        '[[ $(psql -XtAU postgres -d postgres -c "SELECT pg_is_in_recovery()") == t ]] ||
          exec bash /docker-entrypoint-initdb.d/15-role-timeouts.sh' >/dev/null
      continue
    fi
    "${compose[@]}" exec -T "$server" bash /docker-entrypoint-initdb.d/15-role-timeouts.sh >/dev/null
  done
}

# Name each service that is not where it should be, with its last log lines.
report_failure() {
  local service state exit_code health failed=() broken=()
  declare -A status=()
  while IFS=$'\t' read -r service state exit_code health; do
    status[$service]="$state:$exit_code:$health"
  done < <("${compose[@]}" ps --all --format '{{.Service}}{{"\t"}}{{.State}}{{"\t"}}{{.ExitCode}}{{"\t"}}{{.Health}}')
  # Every database service of the topology (build/compose.aliases), a profile's replica only if it is on.
  local services=() profile
  if [[ $shape == ha ]]; then
    mapfile -t services < <(echo etcd; cut -f2 build/compose-ha.aliases | tr , '\n')
  else
    while IFS=$'\t' read -r _ service _ profile; do
      [[ -n $profile && -z ${status[$service]:-} ]] && continue
      services+=("$service")
    done <build/compose.aliases
  fi
  for service in "${services[@]}" migrate app proxy; do
    IFS=: read -r state exit_code health <<<"${status[$service]:-missing::}"
    case $service:$state:$health in
      migrate:exited:) [[ $exit_code == 0 ]] && continue ;;
      *:running:healthy) continue ;;
      # Not created because a database failed first (the databases start alone): a consequence.
      migrate:missing: | app:missing: | proxy:missing:) ((${#broken[@]})) && continue ;;
      proxy:*) [[ ${status[app]:-} == running:*:healthy ]] || continue ;;  # waits for the app: a consequence
    esac
    if [[ $service == app && ${status[migrate]:-} == exited:[1-9]* ]]; then
      failed+=("app not started")   # a consequence, not a cause
      continue
    fi
    case $state in
      exited) failed+=("$service (exited $exit_code)") ;;
      running) failed+=("$service (${health:-no health status}, not healthy)") ;;
      *) failed+=("$service ($state)") ;;
    esac
    broken+=("$service")
  done
  for service in "${broken[@]}"; do
    show_log "$service"
  done
  sed 's/^/up: compose: /' "$1" >&2
  local IFS=';'
  echo "up: failed: ${failed[*]:-see the compose message above}" | sed 's/;/; /g' >&2
}

show_log() {
  echo "--- last lines of $1's log ---" >&2
  # Compose 2.26 prefixes log lines with an erase-line escape even with --ansi never.
  "${compose[@]}" logs --no-log-prefix --tail "${UP_LOG_LINES:-20}" "$1" 2>&1 |
    sed 's/\x1b\[[0-9;]*[A-Za-z]//g' >&2 || true
}

main "$@"
