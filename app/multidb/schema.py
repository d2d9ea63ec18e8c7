"""Schema truth: the tables an alias's recorded migrations say it holds, and which of them it lacks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import truncate_name
from django.db.migrations.graph import MigrationGraph
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from .history import sqlite_file_missing

Key = tuple[str, str]  # (app label, migration name)


@dataclass(frozen=True)
class SchemaLoss:
    """The history says `applied` ran on the alias, but `missing` of the tables they create are not there."""

    alias: str
    applied: tuple[Key, ...]  # the alias's own applied migrations, in graph order
    missing: frozenset[str]
    present: frozenset[str]  # tables those migrations create that do exist

    @property
    def total(self) -> bool:
        """None of the tables exist: the database was recreated empty (or lost), so re-applying loses nothing."""
        return not self.present

    def describe(self, history: str) -> str:
        where = f"the history in {history}" if history != self.alias else "its history"
        return (
            f"{where} records {len(self.applied)} migration(s) as applied, but "
            f"{len(self.missing)} of their {len(self.missing) + len(self.present)} table(s) do not exist "
            f"({_listing(self.missing)})"
        )

    def fix(self) -> str:
        """What to do about a partial loss: nothing automatic may drop the tables that still hold rows."""
        return (
            f"restore {self.alias} from a backup, or, if its remaining rows may go, drop its remaining table(s) "
            f"({_listing(self.present)}) and re-run migrate_all, which then re-creates them all"
        )


def schema_loss(
    connection: BaseDatabaseWrapper, loader: MigrationLoader, own_apps: Iterable[str], present: Iterable[str] | None
) -> SchemaLoss | None:
    """Compare `loader.applied_migrations` of `own_apps` with the tables in `present` (read them if None).

    Only migrations recorded as applied count: the tables of a migration still due are rightly absent.
    """
    apps = frozenset(own_apps)
    recorded = loader.applied_migrations or {}
    applied = tuple(sorted(key for key in loader.graph.nodes if key[0] in apps and key in recorded))
    if not applied:
        return None
    expected = tables_created(loader.graph, frozenset(applied), apps, _max_name(connection))
    if present is None:
        present = table_names(connection)
    existing = expected.intersection(present)
    missing = expected - existing
    if not missing:
        return None
    return SchemaLoss(connection.alias, applied, frozenset(missing), frozenset(existing))


def forget_lost(loss: SchemaLoss, loader: MigrationLoader, recorder: MigrationRecorder, *, write: bool) -> list[str]:
    """After a total loss, un-record the alias's own migrations (in `recorder` if `write`) so the plan re-applies them.

    Raises LostTablesError for a partial loss: re-applying would fail on the tables that remain, and dropping
    them is a decision about their rows that only a person can make.
    """
    if not loss.total:
        raise LostTablesError(f"{loss.describe(recorder.connection.alias)}; {loss.fix()}")
    forgotten = set(loss.applied)
    for key in loss.applied:
        replaced = loader.replacements[key].replaces if key in loader.replacements else []
        forgotten.update(replaced)  # a squash counts as applied while its replaced migrations are recorded
    if write:
        for app, name in sorted(forgotten):
            recorder.record_unapplied(app, name)
    applied = loader.applied_migrations or {}
    loader.applied_migrations = {key: value for key, value in applied.items() if key not in forgotten}
    return [f"{app}.{name}" for app, name in loss.applied]


class LostTablesError(Exception):
    """Some of an alias's tables are gone while others remain; migrate_all will not guess which rows may go."""


def table_names(connection: BaseDatabaseWrapper) -> set[str]:
    """The tables in the alias's database: one catalog query; none for a SQLite file not created yet."""
    if sqlite_file_missing(connection):
        return set()
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


@lru_cache(maxsize=64)
def tables_created(
    graph: MigrationGraph, applied: frozenset[Key], apps: frozenset[str], max_name: int
) -> frozenset[str]:
    """Tables (with auto-created many-to-many ones) of `apps`' managed models once `applied` have run."""
    state = graph.make_state(nodes=sorted(applied), at_end=True)
    names = set()
    for model in state.apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.app_label in apps and meta.managed and not meta.proxy:
            names.add(truncate_name(meta.db_table, max_name))
    return frozenset(names)


def _max_name(connection: BaseDatabaseWrapper) -> int:
    return int(connection.ops.max_name_length() or 10_000)


def _listing(tables: Iterable[str], limit: int = 5) -> str:
    names = sorted(tables)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more
