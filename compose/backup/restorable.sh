#!/usr/bin/env bash
# Print the time of the last commit in this stanza's archived WAL ("YYYY-MM-DD HH:MM:SS.ffffff UTC"),
# or nothing: the latest time a restore can reach (scripts/backup_stack.py). Reads the repository's
# files directly (lz4 + pg_waldump) rather than archive-get, which needs a server matching the stanza:
# after a lost volume the server is a fresh cluster. Looks at the newest segments only.
set -euo pipefail

archive=/var/lib/pgbackrest/archive/$PGBACKREST_STANZA
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Segment files sort by timeline then position: the newest timeline's newest segment comes last.
mapfile -t segments < <(find "$archive" -name '[0-9A-F]*-*.lz4' -printf '%f\t%p\n' 2>/dev/null | sort | tail -n "${SEGMENTS:-8}" | cut -f2)
for ((i = ${#segments[@]} - 1; i >= 0; i--)); do
  name=$(basename "${segments[$i]}")
  lz4 -dcq "${segments[$i]}" >"$work/${name%%-*}"
  last=$(pg_waldump "$work/${name%%-*}" 2>/dev/null | sed -nE 's/.*desc: COMMIT ([0-9-]+ [0-9:.]+ [A-Z]+).*/\1/p' | tail -n 1)
  rm -f "$work/${name%%-*}"
  if [[ -n $last ]]; then
    echo "$last"
    exit 0
  fi
done
