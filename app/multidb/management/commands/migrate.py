"""Django's `migrate`, made safe for the routing: it migrates only where migrate_all would, the same way.

- An alias that is never migrated (a replica, or no `migrate`/`migrate_to`) is refused: Django's
  migrate would record every migration there with no table created, and migrate_all would then
  believe them applied.
- `migrate <app> ...` on an alias that is not the app's home is refused with the command that works:
  elsewhere it would only add or remove no-op history rows and leave the app's tables untouched.
- An alias with `migrate_to` is migrated as migrate_all does it (history in its `migrate_to` alias,
  recorded after each commit); `migrate <app> [<target>|zero]` moves that app there, forwards or back.
Every other alias gets Django's own command unchanged.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import CommandError
from django.core.management.commands import migrate

from multidb.migrator import migrate_alias
from multidb.routing import RoutingTable, current_table
from multidb.status import MigrateStatus
from multidb.targeted import migrate_app


class Command(migrate.Command):
    help = "Django's migrate, where the routing migrates; an alias with migrate_to keeps its history there."

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        self.verbosity = options["verbosity"]
        table = current_table()
        history = table.migratable.get(alias)
        # Django's test runner migrates every test database with --run-syncdb: harmless there, left alone.
        if history is None and not options["run_syncdb"]:
            why = "a replica" if alias in table.replicas else "not migratable (no migrate or migrate_to)"
            raise CommandError(
                f"{alias} is {why} and is never migrated; `manage.py migrate_all` migrates every alias that is",
                returncode=2,
            )
        if options["app_label"]:
            _refuse_away_from_home(table, alias, options["app_label"], options["migration_name"])
        if history is None or history == alias:
            super().handle(*args, **options)
            return
        special = [name for name in ("fake", "fake_initial", "plan", "check_unapplied", "prune") if options.get(name)]
        if special:
            raise CommandError(
                f"{alias} records its migration history in {history}: migrate's {', '.join(special)} would "
                f"disagree with it; use `migrate_all --database {alias}` (with --plan or --check to inspect)",
                returncode=2,
            )
        if options["app_label"]:
            done = migrate_app(alias, history, options["app_label"], options["migration_name"], self._progress)
            self.stdout.write(self.style.SUCCESS(f"{alias}: {len(done)} migrated, history in {history}"))
            return
        result = migrate_alias(alias, history, set(table.apps_migrated_on(alias)), False, self._progress)
        if result.status == MigrateStatus.FAILED:
            where = f" in {result.failed_migration}" if result.failed_migration else ""
            raise CommandError(f"migrating {alias} failed{where}: {result.reason}", returncode=1)
        applied = len(result.applied)
        self.stdout.write(self.style.SUCCESS(f"{alias}: {applied} applied, history in {history}"))

    def _progress(self, alias: str, message: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(f"  {alias}: {message}")


def _refuse_away_from_home(table: RoutingTable, alias: str, app_label: str, target: str | None) -> None:
    if app_label not in {config.label for config in apps.get_app_configs()}:
        return  # Django's own message names the unknown app
    homes = sorted(table.route(app_label).migrate_on)
    if alias in homes or not homes:
        return
    words = " ".join(filter(None, ["migrate", app_label, target]))
    pointers = " / ".join(f"`manage.py {words} --database {home}`" for home in homes)
    raise CommandError(
        f"{app_label}'s tables live on {', '.join(homes)}, not {alias}: migrating it here would only change "
        f"history rows; run {pointers}",
        returncode=2,
    )
