"""One card per alias: where it is, who connects, its health (multidb.health) and the rows of the apps homed there."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import connections

from multidb.health import AliasHealth, HealthReport
from multidb.history import ROUTED_TABLE
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
    def unapplied(self) -> int | None:
        """Unapplied migrations, known only when the alias answered."""
        if self.health.status not in REACHABLE:
            return None
        return len(self.health.unapplied)


def build_cards(table: RoutingTable, report: HealthReport, timeout: float) -> list[Card]:
    """Cards in the table's alias order; rows are counted only where the health check got an answer."""
    cards = [_card(alias, table, report.databases[alias]) for alias in table.aliases]
    _count_rows([card for card in cards if card.health.status in REACHABLE], timeout)
    return cards


def _card(alias: str, table: RoutingTable, health: AliasHealth) -> Card:
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
        health=health,
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


def _count_rows(cards: list[Card], timeout: float) -> None:
    """Count concurrently, one thread per alias; an alias that stops answering costs one timeout, not N."""
    threads = [threading.Thread(target=_count_into, args=(card,), daemon=True) for card in cards]
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def _count_into(card: Card) -> None:
    connection = connections[card.alias]
    try:
        with connection.cursor() as cursor:
            existing = set(connection.introspection.table_names(cursor))
            for app in card.apps:
                counted: list[tuple[str, int | None]] = []
                for name, _ in app.tables:
                    counted.append((name, _count(cursor, connection, name) if name in existing else None))
                app.tables = counted
    except Exception:  # noqa: BLE001, S110 - the card keeps "not counted"; its health line says why
        pass
    finally:
        connection.close()


def _count(cursor: Any, connection: Any, table: str) -> int:
    # Table names come from the models' Meta, quoted by the backend: nothing from the request.
    cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
    return int(cursor.fetchone()[0])
