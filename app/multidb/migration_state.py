"""What an alias records as applied and what it holds, against the migration files (the health check's schema truth)."""

from __future__ import annotations

from functools import cache

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.graph import MigrationGraph
from django.db.migrations.loader import MigrationLoader

from .history import ROUTED_TABLE
from .schema import table_names, tables_created


def recorded_migrations(connection: BaseDatabaseWrapper, alias: str, history: str) -> tuple[set[str], set[str]]:
    """The migrations recorded for `alias`, and the tables of `connection` (read once, used for both checks)."""
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        if history == alias:
            if "django_migrations" not in tables:
                return set(), tables
            cursor.execute("SELECT app, name FROM django_migrations")
        else:
            if ROUTED_TABLE not in tables:
                return set(), tables
            cursor.execute(f"SELECT app, name FROM {ROUTED_TABLE} WHERE database = %s", [alias])  # noqa: S608
        return {f"{app}.{name}" for app, name in cursor.fetchall()}, tables


def lost_tables(connection: BaseDatabaseWrapper, own_apps: tuple[str, ...], tables: set[str] | None) -> list[str]:
    """Tables the (fully applied) migrations of `own_apps` create that the alias lacks; one catalog query."""
    graph = disk_graph()
    nodes = frozenset(key for key in graph.nodes if key[0] in own_apps)
    if not nodes:
        return []
    expected = tables_created(graph, nodes, frozenset(own_apps), int(connection.ops.max_name_length() or 10_000))
    present = table_names(connection) if tables is None else tables
    return sorted(expected - present)


@cache
def disk_graph() -> MigrationGraph:
    """The migration graph; files do not change while the process runs."""
    graph: MigrationGraph = MigrationLoader(None, ignore_no_migrations=True).graph
    return graph


@cache
def migrations_on_disk() -> frozenset[str]:
    """Every migration in the graph."""
    return frozenset(f"{app}.{name}" for app, name in disk_graph().nodes)
