"""One card per alias: where it is, who connects, its health (multidb.health) and the rows of the apps homed there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.html import format_html, format_html_join

from multidb.health import AliasHealth, HealthReport, check_databases
from multidb.history import ROUTED_TABLE
from multidb.last_run import ALIAS as LAST_RUN_ALIAS
from multidb.last_run import LastRun, read_last_run
from multidb.routing import RoutingTable

REACHABLE = ("ok", "unmigrated", "degraded")  # statuses whose database answered SELECT 1


@dataclass
class AppRows:
    label: str
    role: str  # home | replica | shard
    tables: list[tuple[str, int | None]] = field(default_factory=list)  # (table, rows); None = not counted


@dataclass
class Card:
    alias: str
    kind: str  # database | replica | shard of <group>
    engine: str
    server: str
    database: str
    user: str
    health: AliasHealth
    history: str
    apps: list[AppRows]

    @property
    def rows_html(self) -> str:
        """The apps' tables and row counts as table rows (built here: a template loop costs more than the query)."""
        rows = [
            (app.label if app.role == "home" else f"{app.label} ({app.role})", name, name, "-" if n is None else n)
            for app in self.apps
            for name, n in app.tables
        ]
        if not rows:
            return format_html('<tr><td colspan="3">{}</td></tr>', "no app is homed here")
        return format_html_join("\n", '<tr><td>{}</td><td>{}</td><td class="rows" data-table="{}">{}</td></tr>', rows)

    @property
    def unapplied(self) -> int | None:
        """Unapplied migrations, known only when the alias answered."""
        if self.health.status not in REACHABLE:
            return None
        return len(self.health.unapplied)


def build_cards(table: RoutingTable, timeout: float) -> tuple[list[Card], HealthReport, LastRun | None]:
    """The health check (multidb.health), with each alias's rows counted on its probe's own connection once it
    answered: the page costs one connection per database, like /readyz. Also the last migrate_all run."""
    cards = {alias: _card(alias, table) for alias in table.aliases}
    last_run: list[LastRun | None] = []

    def inspect(alias: str, connection: BaseDatabaseWrapper) -> None:
        _count_into(cards[alias], connection)
        if alias == LAST_RUN_ALIAS:
            last_run.append(read_last_run(connection))

    report = check_databases(timeout, inspect)
    for card in cards.values():
        card.health = report.databases[card.alias]
        if card.health.status not in REACHABLE:  # e.g. timed out while counting: show nothing half-read
            for app in card.apps:
                app.tables = [(name, None) for name, _ in app.tables]
    return list(cards.values()), report, (last_run[0] if last_run else None)


def _card(alias: str, table: RoutingTable) -> Card:
    settings_dict = connections.settings[alias]
    engine = str(settings_dict["ENGINE"]).rsplit(".", 1)[-1]
    if engine == "sqlite3":
        server, database = "SQLite file", str(settings_dict["NAME"])
    else:
        server, database = f"{settings_dict['HOST']}:{settings_dict['PORT']}", str(settings_dict["NAME"])
    return Card(
        alias=alias,
        kind=_kind(alias, table),
        engine=engine,
        server=server,
        database=database,
        user=str(settings_dict.get("USER") or "-"),
        health=AliasHealth("unknown"),
        history=_history(alias, table),
        apps=_apps_on(alias, table),
    )


def _kind(alias: str, table: RoutingTable) -> str:
    if alias in table.replicas:
        return "replica"
    for route in table.routes.values():
        if route.shard is not None and alias in route.shard.aliases:
            return f"shard of {route.shard.name}"
    return "database"


def _history(alias: str, table: RoutingTable) -> str:
    history = table.migratable.get(alias)
    if history is None:
        return "never migrated (replica)" if alias in table.replicas else "not migrated here"
    if history == alias:
        return f"{alias}, table django_migrations"
    return f"{history}, table {ROUTED_TABLE}"


def _apps_on(alias: str, table: RoutingTable) -> list[AppRows]:
    found: list[AppRows] = []
    for label in sorted(table.routes):
        route = table.routes[label]
        if route.shard is not None:
            role = "shard" if alias in route.shard.aliases else ""
        else:
            role = "home" if route.home == alias else "replica" if alias in route.replicas else ""
        models = apps.get_app_config(label).get_models(include_auto_created=True) if role else []
        tables = sorted({model._meta.db_table for model in models if model._meta.managed})
        if tables:
            found.append(AppRows(label, role, [(name, None) for name in tables]))
    return found


def _count_into(card: Card, connection: BaseDatabaseWrapper) -> None:
    """Count every table of the card's apps in two queries; a failure leaves them "not counted"."""
    try:
        with connection.cursor() as cursor:
            existing = set(connection.introspection.table_names(cursor))
            names = sorted({name for app in card.apps for name, _ in app.tables} & existing)
            counts = dict(zip(names, _counts(cursor, connection, names), strict=True))
    except Exception:  # noqa: BLE001 - the card keeps "not counted"; its health line says why
        return
    for app in card.apps:
        app.tables = [(name, counts.get(name)) for name, _ in app.tables]


def _counts(cursor: Any, connection: Any, tables: list[str]) -> list[int]:
    """Every table's row count in one query: one round trip per database, not one per table."""
    if not tables:
        return []
    # Table names come from the models' Meta, quoted by the backend: nothing from the request.
    counts = ", ".join(f"(SELECT COUNT(*) FROM {connection.ops.quote_name(table)})" for table in tables)  # noqa: S608
    cursor.execute(f"SELECT {counts}")
    return [int(value) for value in cursor.fetchone()]
