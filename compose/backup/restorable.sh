#!/usr/bin/env bash
# Print the time of the last commit in this stanza's archived WAL ("YYYY-MM-DD HH:MM:SS.ffffff UTC"),
# or nothing: the latest time a restore can reach (scripts/backup_stack.py). Reads the repository's
# files directly (lz4 + pg_waldump) rather than archive-get, which needs a server matching the stanza:
# after a lost volume the server is a fresh cluster. Looks at the newest 64 segments only (newest first, up
# to the first commit): backups and checks switch segments, so a quiet stanza has many without a commit.
# Only WAL on the newest timeline's path counts (a restore follows that timeline): after a point-in-time
# restore, the commits of the abandoned future (an older timeline past the point where the newest one
# branched off) are not restorable, and counting them made a later restore aim past its last commit.
set -euo pipefail

archive=/var/lib/pgbackrest/archive/$PGBACKREST_STANZA
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

lsn_number() {  # 0/A000380 -> a number that compares like the position
  echo $(( (16#${1%/*} << 32) + 16#${1#*/} ))
}

# The newest timeline and, from its history file, where each ancestor timeline was left ("1 0/9000000 ...").
newest=1
declare -A left_at=()
history=$(find "$archive" -name '[0-9A-F]*.history' 2>/dev/null | sort | tail -n 1)
if [[ -n $history ]]; then
  name=$(basename "$history")
  newest=$((16#${name%%.*}))
  while read -r timeline position _; do
    [[ $timeline =~ ^[0-9]+$ && $position == */* ]] && left_at[$timeline]=$position
  done <"$history"
fi

# Segment files sort by timeline then position: the newest timeline's newest segment comes last.
mapfile -t segments < <(find "$archive" -name '[0-9A-F]*-*.lz4' -printf '%f\t%p\n' 2>/dev/null | sort | tail -n "${SEGMENTS:-64}" | cut -f2)
for ((i = ${#segments[@]} - 1; i >= 0; i--)); do
  name=$(basename "${segments[$i]}")
  wal=${name%%-*}
  timeline=$((16#${wal:0:8}))
  end=()
  if ((timeline != newest)); then
    [[ -n ${left_at[$timeline]:-} ]] || continue  # a timeline the newest one does not descend from
    start=$(( (16#${wal:8:8} << 32) + (16#${wal:16:8} << 24) ))
    branch=$(lsn_number "${left_at[$timeline]}")
    (( start < branch )) || continue  # wholly after the branch point
    # The segment holding the branch point: only its records before it (16 MB segments, the default).
    (( branch < start + (1 << 24) )) && end=(--end="${left_at[$timeline]}")
  fi
  lz4 -dcq "${segments[$i]}" >"$work/$wal"
  # pg_waldump exits non-zero at the segment's end (the next one is not here): what it printed still counts.
  last=$({ pg_waldump "${end[@]}" "$work/$wal" 2>/dev/null || true; } | sed -nE 's/.*desc: COMMIT ([0-9-]+ [0-9:.]+ [A-Z]+).*/\1/p' | tail -n 1)
  rm -f "$work/$wal"
  if [[ -n $last ]]; then
    echo "$last"
    exit 0
  fi
done
