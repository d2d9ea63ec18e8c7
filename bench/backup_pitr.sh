#!/usr/bin/env bash
# bench/backup.py's point-in-time restores, run inside the bench container and timed there: pgBackRest's
# restore to TIME, and the floor: the pg_basebackup copy (/tmp/bb) plus the same archived WAL
# (decompressed beforehand, untimed) replayed with `cp`. Prints, in milliseconds: pgBackRest's restore
# of the files, its start + replay + promotion; the floor's copy of the files, its start + replay + promotion.

set -euo pipefail
target=$1
now() { echo $(($(date +%s%N) / 1000000)); }
wait_promoted() {
  local tries=3000
  until [[ $(psql -XtA -p "$1" -U postgres -d postgres -c 'select pg_is_in_recovery()' 2>/dev/null) == f ]]; do
    ((--tries)) || { echo "recovery on port $1 did not finish; its log:" >&2; tail -5 "/tmp/r$(($1 - 5432)).log" >&2; exit 1; }
    sleep 0.1
  done
}
mkdir -p /tmp/wal && for f in /var/lib/pgbackrest/archive/bench/*/*/*.lz4; do n=$(basename "$f"); lz4 -dqf "$f" "/tmp/wal/${n%%-*}"; done
rm -rf /tmp/r1 /tmp/r2
t0=$(now)
pgbackrest --pg1-path=/tmp/r1 restore --type=time "--target=$target" --target-action=promote
t1=$(now)
pg_ctl -D /tmp/r1 -o '-p 5433' -l /tmp/r1.log -w start >/dev/null && wait_promoted 5433
t2=$(now)
pg_ctl -D /tmp/r1 -w stop >/dev/null
t3=$(now)
cp -a /tmp/bb /tmp/r2 && touch /tmp/r2/recovery.signal
printf "restore_command = 'cp /tmp/wal/%%f %%p'\nrecovery_target_time = '%s'\nrecovery_target_action = promote\n" "$target" >>/tmp/r2/postgresql.auto.conf
t4=$(now)
pg_ctl -D /tmp/r2 -o '-p 5434' -l /tmp/r2.log -w start >/dev/null && wait_promoted 5434
t5=$(now)
pg_ctl -D /tmp/r2 -w stop >/dev/null
rm -rf /tmp/r1 /tmp/r2
echo "$((t1 - t0)) $((t2 - t1)) $((t4 - t3)) $((t5 - t4))"  # milliseconds
