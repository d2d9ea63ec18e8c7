"""Where each alias's migration history is recorded, and what is still unapplied there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.apps.registry import Apps
from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils.functional import classproperty
from django.utils.timezone import now

# The table in a `migrate_to` alias that records other aliases' histories, one column naming each.
ROUTED_TABLE = "multidb_migration_history"


class RoutedRecorder(MigrationRecorder):
    """Django's recorder, but storing `alias`'s history in `ROUTED_TABLE` on another connection."""

    _routed_class: Any = None

    @classproperty
    def Migration(cls) -> Any:  # noqa: N802, N805 - the parent's name; a classproperty takes cls
        if cls._routed_class is None:

            class RoutedMigration(models.Model):
                database = models.CharField(max_length=255)
                app = models.CharField(max_length=255)
                name = models.CharField(max_length=255)
                applied = models.DateTimeField(default=now)

                class Meta:
                    apps = Apps()
                    app_label = "multidb_history"
                    db_table = ROUTED_TABLE

            cls._routed_class = RoutedMigration
        return cls._routed_class

    def __init__(self, history_connection: BaseDatabaseWrapper, alias: str) -> None:
        super().__init__(history_connection)
        self.alias = alias

    @property
    def migration_qs(self) -> Any:
        return self.Migration.objects.using(self.connection.alias).filter(database=self.alias)

    def record_applied(self, app: str, name: str) -> None:
        self.ensure_schema()
        self.migration_qs.create(database=self.alias, app=app, name=name)


def recorder_for(alias: str, history_alias: str) -> MigrationRecorder:
    """Django's own recorder when an alias keeps its history, a routed one for `migrate_to`."""
    if history_alias == alias:
        return MigrationRecorder(connections[alias])
    return RoutedRecorder(connections[history_alias], alias)


def loader_for(recorder: MigrationRecorder) -> MigrationLoader:
    """The migration graph from disk, with `applied` read through `recorder` (None when absent)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    loader.applied_migrations = applied_migrations(recorder)
    return loader


def applied_migrations(recorder: MigrationRecorder) -> dict[tuple[str, str], Any]:
    """Applied migrations, without creating a SQLite file that does not exist yet."""
    if sqlite_file_missing(recorder.connection):
        return {}
    return recorder.applied_migrations()


def sqlite_file_missing(connection: BaseDatabaseWrapper) -> bool:
    """True for a SQLite alias whose file is not there: connecting would create it."""
    if connection.vendor != "sqlite":
        return False
    name = str(connection.settings_dict["NAME"])
    return not (name == ":memory:" or name.startswith("file:") or Path(name).exists())


def in_memory(connection: BaseDatabaseWrapper) -> bool:
    """True for an in-memory SQLite alias: each new connection to it opens a different, empty database."""
    name = str(connection.settings_dict["NAME"])
    return connection.vendor == "sqlite" and (name == ":memory:" or "mode=memory" in name)


def unapplied(loader: MigrationLoader) -> list[tuple[str, str]]:
    """Every migration in the graph that the history does not record, in plan order."""
    applied = loader.applied_migrations or {}
    plan: dict[tuple[str, str], None] = {}  # ordered set
    for leaf in loader.graph.leaf_nodes():
        for key in loader.graph.forwards_plan(leaf):
            if key not in applied:
                plan[key] = None
    return list(plan)
