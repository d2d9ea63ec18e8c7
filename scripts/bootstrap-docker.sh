#!/usr/bin/env bash
# Make a Docker engine and the Compose v2 plugin available; silent when both already are.
#
# On Debian/Ubuntu as root it installs what is missing: the engine from the
# distribution's docker.io package (started in the background: these machines
# have no systemd) and Compose v2 from Debian trixie's docker-compose package,
# fetched with a throwaway apt configuration that reuses the host's mirror.
# Anywhere else it says what to install and fails.
set -euo pipefail

readonly DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
readonly ENGINE_WAIT_SECONDS=${ENGINE_WAIT_SECONDS:-60}
readonly COMPOSE_SUITE=trixie   # first Debian release whose docker-compose is Compose v2

main() {
  if ! engine_answers; then
    can_install || die_unsupported
    ensure_engine
  fi
  if ! docker compose version >/dev/null 2>&1; then
    can_install || die_unsupported
    install_compose
  fi
}

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

can_install() {
  [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null && command -v dpkg >/dev/null
}

die_unsupported() {
  cat >&2 <<'MSG'
bootstrap: Docker is not usable here and this script only installs it on Debian/Ubuntu as root.
Install Docker Engine (>= 20.10) and the Compose v2 plugin (`docker compose version` must work),
start the engine, then run this again. See https://docs.docker.com/engine/install/
MSG
  exit 1
}

ensure_engine() {
  if ! command -v dockerd >/dev/null; then
    echo "bootstrap: installing the Docker engine (apt: docker.io)" >&2
    apt_quiet update
    DEBIAN_FRONTEND=noninteractive apt_quiet install -y --no-install-recommends \
      docker.io containerd runc iptables ca-certificates
  fi
  if ! pgrep -x dockerd >/dev/null; then
    clear_stale_pidfiles
    echo "bootstrap: starting dockerd (log: $DOCKERD_LOG)" >&2
    # setsid + nohup: the daemon must outlive `make` and the shell that started it.
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  local deadline=$((SECONDS + ENGINE_WAIT_SECONDS))
  until engine_answers; do
    if ((SECONDS >= deadline)); then
      echo "bootstrap: dockerd did not answer within ${ENGINE_WAIT_SECONDS}s; last log lines:" >&2
      tail -n 20 "$DOCKERD_LOG" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
}

# A daemon killed with its session (this machine's normal end) leaves pid files
# behind; a recorded pid that is gone, or a zombie not yet reaped, would make
# dockerd refuse to start or wait forever for "still running" containerd.
clear_stale_pidfiles() {
  local file pid state
  for file in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
    [[ -f $file ]] || continue
    pid=$(<"$file")
    state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1 || true)
    if [[ -z $state || $state == Z ]]; then
      rm -f "$file"
    fi
  done
}

# Fetch only trixie's docker-compose .deb with a private apt state directory,
# so the host's package lists never learn about trixie.
install_compose() {
  echo "bootstrap: installing Compose v2 (Debian $COMPOSE_SUITE docker-compose package)" >&2
  local mirror
  mirror=$("$(dirname "${BASH_SOURCE[0]}")/host-mirror.sh")
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/lists/partial" "$tmp/archives/partial"
  echo "deb $mirror $COMPOSE_SUITE main" >"$tmp/trixie.list"
  local -a opts=(
    -o "Dir::Etc::SourceList=$tmp/trixie.list"
    -o "Dir::Etc::SourceParts=/nonexistent"
    -o "Dir::State::Lists=$tmp/lists"
    -o "Dir::Cache::Archives=$tmp/archives"
    -o "APT::Sandbox::User=root"
  )
  apt_quiet "${opts[@]}" update
  (cd "$tmp" && apt_quiet "${opts[@]}" download docker-compose)
  # One static binary depending only on libc6 (>= 2.34), which bookworm has.
  dpkg -i "$tmp"/docker-compose_*.deb >>"$(apt_log)" 2>&1
  docker compose version >/dev/null 2>&1 || {
    echo "bootstrap: docker compose still missing after installing the package" >&2
    exit 1
  }
}


apt_log() { echo "${BOOTSTRAP_LOG:-/var/log/bootstrap-docker.log}"; }

apt_quiet() {
  if ! apt-get -q "$@" >>"$(apt_log)" 2>&1; then
    echo "bootstrap: apt-get $* failed; see $(apt_log)" >&2
    tail -n 15 "$(apt_log)" >&2
    exit 1
  fi
}

main "$@"
