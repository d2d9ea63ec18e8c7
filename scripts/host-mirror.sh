#!/usr/bin/env bash
# Print the host's Debian mirror URL from its apt sources (`security` as $1: the security mirror).
set -euo pipefail

want=${1:-main}
urls=$(
  {
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
      awk 'tolower($1)=="uris:" {for (i=2;i<=NF;i++) print $i}'
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1=="deb" {for (i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}'
  } | sed 's:/*$::'
) || true  # either format may be absent
if [[ $want == security ]]; then
  url=$(grep -m1 -- '-security$' <<<"$urls" || true)
else
  url=$(grep -v -- '-security$' <<<"$urls" | grep -m1 -E '/(debian|ubuntu)$' || true)
fi
if [[ -z $url ]]; then
  echo "host-mirror: no Debian $want mirror in /etc/apt/sources.list{,.d}" >&2
  exit 1
fi
echo "$url"
