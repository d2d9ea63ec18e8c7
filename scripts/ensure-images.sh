#!/usr/bin/env bash
# Pick the PostgreSQL and Python base images for the stack, build the TLS proxy's nginx image, and
# record them in build/images.env.
#
# Order per image: an explicit POSTGRES_IMAGE / PYTHON_IMAGE from the caller;
# the official image if it is already local; our local equivalent if it is
# already built and current; the official image if `docker pull` succeeds
# within PULL_TIMEOUT; otherwise build the equivalent from Debian bookworm's
# packages (PostgreSQL 15, Python 3.11: the same versions as the official
# tags), printing one line. Silent when nothing had to change. Both PostgreSQL paths carry
# pgBackRest: the local image installs it, the official one gets a derived image
# (images/postgres-pgbackrest/). An explicit POSTGRES_IMAGE must include it.
# The proxy (images/nginx/, docs/tls.md) is always built here from Debian's nginx package, on the
# local Debian base or an official debian:bookworm-slim already present; rebuilt when its context changes.
# With the `ha` profile on (COMPOSE_PROFILES contains ha, docs/ha.md), also the Patroni image
# (images/patroni/: Debian's patroni and etcd on the chosen PostgreSQL image), rebuilt when its context
# or that base changes; a plain stack never waits for it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly OUT=build/images.env
readonly LOG=build/images.log
readonly PULL_TIMEOUT=${PULL_TIMEOUT:-60}
readonly OFFICIAL_POSTGRES=postgres:15
readonly OFFICIAL_PYTHON=python:3.11-slim
readonly LOCAL_BASE=multidb-local/debian:bookworm
readonly LOCAL_POSTGRES=multidb-local/postgres:15
readonly LOCAL_PYTHON=multidb-local/python:3.11
# The official postgres image lacks pgBackRest: the stack runs a small image derived from it.
readonly DERIVED_POSTGRES=multidb-local/postgres-pgbackrest:15
readonly CONTEXT_LABEL=multidb.context-sha
readonly LOCAL_PROXY=multidb-local/nginx:bookworm
readonly OFFICIAL_DEBIAN=debian:bookworm-slim
readonly LOCAL_PATRONI=multidb-local/patroni:15

# choose() runs in this shell (never in $(...)), so these globals carry its verdicts back.
to_build=()             # "TAG CONTEXT" of each local image to build
registry_unreachable=0  # one failed pull is enough for this run
chosen=''

main() {
  mkdir -p build
  local postgres python
  choose "${POSTGRES_IMAGE:-}" "$OFFICIAL_POSTGRES" "$LOCAL_POSTGRES" compose/images/postgres
  postgres=$chosen
  choose "${PYTHON_IMAGE:-}" "$OFFICIAL_PYTHON" "$LOCAL_PYTHON" compose/images/python
  python=$chosen
  if ((${#to_build[@]})); then
    local names
    names=$(printf '%s\n' "${to_build[@]}" | sed -E 's|^multidb-local/([^ ]*).*|\1|' | paste -sd' ' - | sed 's/ / and /g')
    echo "images: official images not available; building local equivalents of $names from Debian packages (air-gapped build; log: $LOG)"
    build_local "${to_build[@]}"
  fi
  [[ $postgres != "$OFFICIAL_POSTGRES" ]] || postgres=$(derive_pgbackrest "$postgres")
  ensure_proxy
  [[ ,${COMPOSE_PROFILES:-}, != *,ha,* ]] || ensure_patroni "$postgres"
  write_env "$postgres" "$python" "$LOCAL_PROXY"
}

# ensure_patroni POSTGRES: (re)build the ha profile's image on the stack's PostgreSQL image.
ensure_patroni() {
  local context=compose/images/patroni sha
  sha="$(context_sha "$context")-$(docker image inspect -f '{{.Id}}' "$1" | cut -c8-19)"
  [[ $(label "$LOCAL_PATRONI") == "$sha" ]] && return 0
  echo "images: building $LOCAL_PATRONI from Debian's patroni and etcd on $1 (log: $LOG)"
  docker build -q --build-arg "BASE_IMAGE=$1" --label "$CONTEXT_LABEL=$sha" \
    -t "$LOCAL_PATRONI" "$context" >>"$LOG" 2>&1 || {
    echo "images: building $LOCAL_PATRONI failed; last lines of $LOG:" >&2
    tail -n 25 "$LOG" >&2
    exit 1
  }
}

# ensure_proxy: (re)build the nginx image when its context or its base changed.
ensure_proxy() {
  local context=compose/images/nginx base sha
  if image_exists "$LOCAL_BASE" || ! image_exists "$OFFICIAL_DEBIAN"; then
    ensure_base
    base=$LOCAL_BASE
  else
    base=$OFFICIAL_DEBIAN
  fi
  sha="$(context_sha "$context")-$(docker image inspect -f '{{.Id}}' "$base" | cut -c8-19)"
  [[ $(label "$LOCAL_PROXY") == "$sha" ]] && return 0
  echo "images: building the TLS proxy $LOCAL_PROXY from Debian's nginx (log: $LOG)"
  docker build -q --build-arg "BASE_IMAGE=$base" --label "$CONTEXT_LABEL=$sha" \
    -t "$LOCAL_PROXY" "$context" >>"$LOG" 2>&1 || {
    echo "images: building $LOCAL_PROXY failed; last lines of $LOG:" >&2
    tail -n 25 "$LOG" >&2
    exit 1
  }
}

# derive_pgbackrest OFFICIAL: print the derived image's tag, (re)building it when its context or base changed.
derive_pgbackrest() {
  local context=compose/images/postgres-pgbackrest sha
  sha="$(context_sha "$context")-$(docker image inspect -f '{{.Id}}' "$1" | cut -c8-19)"
  if [[ $(label "$DERIVED_POSTGRES") != "$sha" ]]; then
    echo "images: adding pgBackRest to $1 as $DERIVED_POSTGRES (log: $LOG)" >&2
    docker build -q --build-arg "BASE_IMAGE=$1" --label "$CONTEXT_LABEL=$sha" \
      -t "$DERIVED_POSTGRES" "$context" >>"$LOG" 2>&1 || {
      echo "images: building $DERIVED_POSTGRES failed; last lines of $LOG:" >&2
      tail -n 25 "$LOG" >&2
      exit 1
    }
  fi
  echo "$DERIVED_POSTGRES"
}

# choose EXPLICIT OFFICIAL LOCAL CONTEXT: sets `chosen` to the image to use (and queues a local build).
choose() {
  local explicit=$1 official=$2 local_tag=$3 context=$4
  if [[ -n $explicit ]]; then
    image_exists "$explicit" || pull "$explicit" || {
      echo "images: $explicit (set in the environment) is neither local nor pullable" >&2
      exit 1
    }
    chosen=$explicit
  elif image_exists "$official"; then
    chosen=$official
  elif image_exists "$local_tag" && [[ $(label "$local_tag") == $(context_sha "$context") ]]; then
    chosen=$local_tag
  elif pull "$official"; then
    chosen=$official
  else
    to_build+=("$local_tag $context")
    chosen=$local_tag
  fi
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

label() { docker image inspect -f "{{index .Config.Labels \"$CONTEXT_LABEL\"}}" "$1" 2>/dev/null; }

# A digest of the build context, so an edited Dockerfile or entrypoint triggers a rebuild.
context_sha() {
  (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16
}

pull() {
  ((registry_unreachable)) && return 1
  if timeout "$PULL_TIMEOUT" docker pull -q "$1" >>"$LOG" 2>&1; then
    return 0
  fi
  registry_unreachable=1
  return 1
}

# build_local "TAG CONTEXT"...: the Debian base once, then the images in parallel.
build_local() {
  ensure_base
  local item tag context pids=() failed=0
  for item in "$@"; do
    read -r tag context <<<"$item"
    docker build -q --build-arg "BASE_IMAGE=$LOCAL_BASE" \
      --label "$CONTEXT_LABEL=$(context_sha "$context")" \
      -t "$tag" "$context" >>"$LOG" 2>&1 &
    pids+=("$!")
  done
  for item in "${pids[@]}"; do
    wait "$item" || failed=1
  done
  if ((failed)); then
    echo "images: building the local images failed; last lines of $LOG:" >&2
    tail -n 25 "$LOG" >&2
    exit 1
  fi
}

# A minimal Debian bookworm root filesystem imported as an image (no registry involved).
ensure_base() {
  image_exists "$LOCAL_BASE" && return 0
  if ! command -v debootstrap >/dev/null; then
    { apt-get install -y --no-install-recommends debootstrap ||
      { apt-get update && apt-get install -y --no-install-recommends debootstrap; }; } >>"$LOG" 2>&1
  fi
  local mirror security
  mirror=$(scripts/host-mirror.sh)
  security=$(scripts/host-mirror.sh security 2>/dev/null || true)
  rootfs=$(mktemp -d /var/tmp/multidb-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >>"$LOG" 2>&1; then
    echo "images: debootstrap from $mirror failed; last lines of $LOG:" >&2
    tail -n 15 "$LOG" >&2
    exit 1
  fi
  {
    echo "deb $mirror bookworm main"
    echo "deb $mirror bookworm-updates main"
    [[ -z $security ]] || echo "deb $security bookworm-security main"
  } >"$rootfs/etc/apt/sources.list"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
  tar -C "$rootfs" --numeric-owner -c . |
    docker import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' - "$LOCAL_BASE" >>"$LOG"
  rm -rf "$rootfs"
}

write_env() {
  local content
  content=$(printf 'POSTGRES_IMAGE=%s\nPYTHON_IMAGE=%s\nPROXY_IMAGE=%s\nPATRONI_IMAGE=%s\n' "$1" "$2" "$3" "$LOCAL_PATRONI")
  if [[ ! -f $OUT || $(<"$OUT") != "$content" ]]; then
    printf '%s\n' "$content" >"$OUT.tmp"
    mv "$OUT.tmp" "$OUT"
  fi
}

main "$@"
