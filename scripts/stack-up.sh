#!/usr/bin/env bash
# `make up`: build the app image, start the stack, wait until every service is
# healthy, then print the URL and the /readyz verdict. On failure, exit 1 naming
# the service that failed, with the last lines of its log.
# Expects Docker, build/images.env, the generated build/compose.* files and the env file (see mk/stack.mk).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
compose=(scripts/compose.sh --progress quiet --ansi never)
readonly WAIT_TIMEOUT=${UP_WAIT_TIMEOUT:-300}

main() {
  scripts/build-app-image.sh
  err=$(mktemp)
  trap 'rm -f "$err"' EXIT
  if ! "${compose[@]}" up --detach --wait --wait-timeout "$WAIT_TIMEOUT" --no-build 2>"$err"; then
    report_failure "$err"
    exit 1
  fi
  local address
  address=$("${compose[@]}" port app 8000)
  echo "up: all services healthy; app at http://$address/"
  exec python3 scripts/readyz.py "http://$address/readyz"
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
  while IFS=$'\t' read -r _ service _ profile; do
    [[ -n $profile && -z ${status[$service]:-} ]] && continue
    services+=("$service")
  done <build/compose.aliases
  for service in "${services[@]}" migrate app; do
    IFS=: read -r state exit_code health <<<"${status[$service]:-missing::}"
    case $service:$state:$health in
      migrate:exited:) [[ $exit_code == 0 ]] && continue ;;
      *:running:healthy) continue ;;
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
