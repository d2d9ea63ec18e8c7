"""Django's `migrate`, made safe for aliases whose history lives elsewhere (`migrate_to`).

Plain `migrate --database blog_db` would record blog's history in blog_db
itself, while migrate_all records it in default: the two would then disagree
and the next migrate_all would re-apply migrations. Here such an alias is
migrated exactly as migrate_all does it; every other alias gets Django's own
command unchanged.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.core.management.commands import migrate

from multidb.migrator import migrate_alias
from multidb.routing import current_table


class Command(migrate.Command):
    help = "Django's migrate; an alias with migrate_to is migrated as migrate_all does (history in its migrate_to)."

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        self.verbosity = options["verbosity"]
        table = current_table()
        history = table.migratable.get(alias)
        if history is None or history == alias:
            super().handle(*args, **options)
            return
        special = [name for name in ("app_label", "migration_name") if options.get(name)]
        special += [name for name in ("fake", "fake_initial", "plan", "check_unapplied", "prune") if options.get(name)]
        if special:
            raise CommandError(
                f"{alias} records its migration history in {history}: migrate's {', '.join(special)} would "
                f"disagree with it; use `migrate_all --database {alias}` (with --plan or --check to inspect)",
                returncode=2,
            )
        result = migrate_alias(alias, history, set(table.apps_migrated_on(alias)), False, self._progress)
        if result.status == "failed":
            where = f" in {result.failed_migration}" if result.failed_migration else ""
            raise CommandError(f"migrating {alias} failed{where}: {result.reason}", returncode=1)
        applied = len(result.applied)
        self.stdout.write(self.style.SUCCESS(f"{alias}: {applied} applied, history in {history}"))

    def _progress(self, alias: str, message: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(f"  {alias}: {message}")
