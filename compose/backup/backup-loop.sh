#!/usr/bin/env bash
# The scheduled backups of one server (service <db>-backup, docs/backups.md): create the stanza
# (idempotent), a full backup at once when the repository holds none, then every BACKUP_EVERY seconds
# a differential backup, every BACKUP_FULL_EVERY-th one full. pgBackRest's options are PGBACKREST_*
# variables; expiry follows each backup (PGBACKREST_REPO1_RETENTION_FULL).
set -uo pipefail

every=${BACKUP_EVERY:-86400}
full_every=${BACKUP_FULL_EVERY:-7}
retry=60

# bash as PID 1 ignores SIGTERM unless trapped; sleeps run in the background so the trap fires at once.
trap 'exit 0' TERM INT
pause() { sleep "$1" & wait $!; }
log() { echo "backup-loop[$PGBACKREST_STANZA]: $*"; }

until pg_isready -q -h /var/run/postgresql; do pause 1; done
# A stanza that does not match the server (a volume lost and initialised afresh) is never
# "upgraded" here: that server waits for `make restore`, and the loop retries.
until pgbackrest stanza-create >/dev/null && pgbackrest check; do
  log "stanza-create or check failed (a lost volume? run make restore); retrying in ${retry}s"
  pause "$retry"
done
log "archiving checked"
if ! pgbackrest info --output=json | grep -q '"label"'; then
  log "no backup yet: full backup now"
  pgbackrest --log-level-console=info backup --type=full | grep -E 'new backup label|backup command end'
fi
run=0
while pause "$every"; do
  run=$((run + 1))
  type=diff
  ((run % full_every)) || type=full
  log "$type backup"
  pgbackrest --log-level-console=info backup --type="$type" | grep -E 'new backup label|backup command end' ||
    log "$type backup failed; next in ${every}s"
done
