"""Readiness: every alias answers SELECT 1 within a timeout, has no unapplied migrations and holds their tables."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend

from .history import in_memory, sqlite_file_missing
from .migration_state import lost_tables, migrations_on_disk, recorded_migrations
from .nodes import leader_and_standbys, node_hosts
from .replicas import replica_lag
from .routing import RoutingTable, current_table
from .status import HealthStatus, Readiness
from .text import one_line

# Extra reads on a probe's own connection once it answered (the status page's row counts); must not raise.
Inspect = Callable[[str, BaseDatabaseWrapper], None]


@dataclass
class AliasHealth:
    status: HealthStatus
    latency_ms: float | None = None
    error: str | None = None
    unapplied: list[str] = field(default_factory=list)
    missing_tables: list[str] = field(default_factory=list)  # status "schema missing"
    replica: bool = False
    lag_seconds: float | None = None  # replicas on PostgreSQL only
    # An alias of several nodes (libpq multi-host; docs/ha.md): how many, the one that leads, the others.
    nodes: int = 0
    leader: str | None = None
    standbys: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class HealthReport:
    databases: dict[str, AliasHealth]

    @property
    def ok(self) -> bool:
        return not self.failing

    @property
    def failing(self) -> list[str]:
        """Aliases that make the app unready; a replica never does: reads fall back to its home."""
        return [
            alias for alias, result in self.databases.items() if result.status != HealthStatus.OK and not result.replica
        ]

    def as_dict(self) -> dict[str, Any]:
        report: dict[str, Any] = {"status": Readiness.OK if self.ok else Readiness.UNAVAILABLE}
        if not self.ok:
            report["failing"] = self.failing
        report["databases"] = {alias: _full_view(result) for alias, result in self.databases.items()}
        return report

    def summary(self) -> dict[str, Any]:
        """`as_dict` with status words only: what an outside caller sees (errors name hosts and roles).

        A replica also keeps its flag and lag in seconds: numbers that name nothing, which a load balancer or
        `make up` needs to tell a lagging replica from a healthy one.
        """
        report = self.as_dict()
        report["databases"] = {alias: _outside_view(result) for alias, result in self.databases.items()}
        return report


def _full_view(result: AliasHealth) -> dict[str, Any]:
    view = asdict(result)
    if not result.nodes:  # the node fields belong to aliases of several nodes only
        for key in ("nodes", "leader", "standbys"):
            del view[key]
    return view


def _outside_view(result: AliasHealth) -> dict[str, Any]:
    view: dict[str, Any] = {"status": result.status}
    if result.replica:
        view |= {"replica": True, "lag_seconds": result.lag_seconds}
    if result.nodes:  # how many nodes and how far behind the standbys are; no node names
        view |= {"nodes": result.nodes, "standby_lag_bytes": [standby["lag_bytes"] for standby in result.standbys]}
    return view


def check_databases(timeout: float | None = None, inspect: Inspect | None = None) -> HealthReport:
    """Check every alias concurrently: one hung database costs one timeout, not one per alias."""
    table = current_table()
    timeout = timeout if timeout is not None else settings.MULTIDB_HEALTH_TIMEOUT
    results: dict[str, AliasHealth] = {}
    # Daemon threads: a database that never answers must not keep the process (or the request) waiting.
    threads = [
        threading.Thread(
            target=_check_into, args=(results, alias, table, timeout, inspect), daemon=True, name=f"health-{alias}"
        )
        for alias in table.aliases
    ]
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return HealthReport(
        {
            alias: results.get(alias) or AliasHealth(HealthStatus.TIMEOUT, error=f"no answer within {timeout:g}s")
            for alias in table.aliases
        }
    )


def _check_into(
    results: dict[str, AliasHealth], alias: str, table: RoutingTable, timeout: float, inspect: Inspect | None
) -> None:
    results[alias] = check_alias(alias, table, timeout, inspect)


def check_alias(alias: str, table: RoutingTable, timeout: float, inspect: Inspect | None = None) -> AliasHealth:
    """SELECT 1 on a fresh connection, then compare the alias's history with the migration files."""
    started = time.monotonic()
    connection = _fresh_connection(alias, timeout)
    replica = alias in table.replicas
    hosts = node_hosts(connection.settings_dict)
    answered = False
    try:
        if sqlite_file_missing(connection):
            return AliasHealth(
                HealthStatus.DOWN, error="SQLite database file does not exist; run migrate_all", replica=replica
            )
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        answered = True
        latency = round((time.monotonic() - started) * 1000, 1)
        if replica:
            return _replica_health(connection, latency, table.options.replica_max_lag_seconds)
        result = _schema_health(alias, table, timeout, connection, latency)
        if hosts:
            # The standbys get what is left of this probe's time, less a margin for the report itself.
            result.nodes = len(hosts)
            result.leader, result.standbys = leader_and_standbys(connection, hosts, started + timeout * 0.9)
        return result
    except Exception as error:  # noqa: BLE001 - any failure is this alias's status
        return AliasHealth(HealthStatus.DOWN, error=one_line(error), replica=replica, nodes=len(hosts))
    finally:
        if inspect is not None and answered:
            inspect(alias, connection)  # on this connection: a second connect would cost as much as the probe
        connection.close()


def _schema_health(
    alias: str, table: RoutingTable, timeout: float, connection: BaseDatabaseWrapper, latency: float
) -> AliasHealth:
    """The alias answered: are its migrations recorded, and do the tables they create exist?"""
    history = table.migratable.get(alias)
    if history is None or in_memory(connection):
        return AliasHealth(HealthStatus.OK, latency)
    history_connection = connection if history == alias else _fresh_connection(history, timeout)
    try:
        if in_memory(history_connection):
            # An in-memory SQLite database is a new, empty one on every connection: this probe's can
            # never show the migrations the process's own connection applied. Connectivity is all it checks.
            return AliasHealth(HealthStatus.OK, latency)
        recorded, tables = recorded_migrations(history_connection, alias, history)
    finally:
        if history_connection is not connection:
            history_connection.close()
    missing = sorted(migrations_on_disk() - recorded)
    if missing:
        return AliasHealth(
            HealthStatus.UNMIGRATED, latency, f"{len(missing)} unapplied migration(s); run migrate_all", missing
        )
    # Schema truth: the history alone is not enough (blog_db's lives in default and survives its loss).
    lost = lost_tables(connection, table.apps_migrated_on(alias), tables if history == alias else None)
    if lost:
        error = f"{len(lost)} table(s) its history records as created do not exist ({', '.join(lost)}); run migrate_all"
        return AliasHealth(HealthStatus.SCHEMA_MISSING, latency, error, missing_tables=lost)
    return AliasHealth(HealthStatus.OK, latency)


def _replica_health(connection: BaseDatabaseWrapper, latency: float, max_lag: float) -> AliasHealth:
    lag = replica_lag(connection)
    if lag is not None and lag > max_lag:
        return AliasHealth(
            HealthStatus.DEGRADED,
            latency,
            f"lags {lag:.1f}s (limit {max_lag:g}s); reads avoid it",
            replica=True,
            lag_seconds=round(lag, 3),
        )
    return AliasHealth(HealthStatus.OK, latency, replica=True, lag_seconds=None if lag is None else round(lag, 3))


def _fresh_connection(alias: str, timeout: float) -> BaseDatabaseWrapper:
    """A private connection bounded by `timeout`, so a probe never disturbs or waits on request connections."""
    settings_dict = dict(connections.settings[alias])
    options = dict(settings_dict.get("OPTIONS", {}))
    if settings_dict["ENGINE"].endswith("postgresql"):
        options["connect_timeout"] = max(1, math.ceil(timeout))
        options.pop("pool", None)
    elif settings_dict["ENGINE"].endswith("sqlite3"):
        options["timeout"] = timeout
    settings_dict["OPTIONS"] = options
    backend = load_backend(settings_dict["ENGINE"])
    wrapper: BaseDatabaseWrapper = backend.DatabaseWrapper(settings_dict, alias)
    return wrapper
