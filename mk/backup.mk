# Backups and point-in-time restore of the Compose stack with pgBackRest (docs/backups.md): every
# server archives its WAL into the repository volume `pgbackrest`, which `make down` and `make
# destroy` keep; each server's <db>-backup service makes the scheduled backups.
# TYPE=full|diff|incr; TIME="2026-11-30 12:03:00+00" (default: the latest time all can reach); DB=alias ...

.PHONY: backup backups restore

backup: compose-files ## Back up every database now (TYPE=full|diff|incr, default incr)
	@$(PY) scripts/backup.py "$(TYPE)"

backups: compose-files ## List each alias's backups and its earliest and latest restorable time
	@$(PY) scripts/backups.py

restore: compose-files ## Restore every alias (or DB="alias ...") to one time: make restore [TIME="2026-11-30 12:03:00+00"]
	@$(PY) scripts/restore.py "$(TIME)" $(DB)
