#!/usr/bin/env bash
# Install the named Debian packages if any is missing (idempotent; a machine that
# has them all is not touched). Used by the browser test (chromium) and the docs
# picture (graphviz). Needs root and the host's apt sources, as `make bootstrap` does.
set -euo pipefail

missing=()
for package in "$@"; do
  dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "ensure-debs: installing ${missing[*]}" >&2
# Other apt users (bootstrap, a parallel job) may hold the lock: wait for it rather than fail.
apt_get=(apt-get -o DPkg::Lock::Timeout=600 -q)
if ! "${apt_get[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  "${apt_get[@]}" update >/dev/null
  exec "${apt_get[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
