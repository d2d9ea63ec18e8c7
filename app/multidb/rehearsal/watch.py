"""Watching migrate_all on the clones: a lock sampler and canary traffic per clone, then the findings per alias."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from ..config import ProjectConfig
from .canary import Canary
from .checks import Tables, check
from .clone_server import CloneServer
from .findings import Thresholds, canary_findings, lock_findings, privilege_finding, tables_before
from .migrate import MigrateRun
from .observe import Observer, connector, statements
from .owner import runtime_role, set_password
from .report import AliasReport

_APPLIED = re.compile(r"^applied (?P<migration>\S+) \((?P<seconds>[\d.]+)s\)$")
_DEFAULT_STATEMENT_TIMEOUT_MS = 30_000  # the config's timeouts.statement when the config has none


@dataclass(frozen=True)
class WatchOptions:
    sample_interval: float = 0.025  # seconds between two lock samples
    canary_interval: float = 0.05  # seconds between two canary queries (reads and inserts alternate)
    canary: bool = True
    sample: bool = True  # False: no lock sampling (WAL and size are still read at each migration's start and end)
    limits: Thresholds = field(default_factory=Thresholds)


class Watch:
    """Everything observed on the clones of the `ready` aliases during one migrate_all."""

    def __init__(
        self, config: ProjectConfig, servers: Mapping[str, CloneServer], ready: list[str], options: WatchOptions
    ) -> None:
        self.config, self.servers, self.ready, self.options = config, servers, ready, options
        self.tables: dict[str, Tables] = {}
        self.observers: dict[str, Observer] = {}
        self.canaries: dict[str, Canary] = {}
        self.canary_roles: dict[str, str | None] = {}
        self.runtime: dict[str, dict[str, str]] = {}  # alias -> config keys logging in as its runtime role
        self.plan = MigrateRun({}, None)

    def begin(self, entries: Mapping[str, AliasReport]) -> None:
        """Read each clone's tables, then start its sampler and canary, before migrate_all starts."""
        for alias in self.ready:
            server, owner = self.servers[alias], entries[alias].owner
            rows = {name.removeprefix("public."): c["before"] or 0 for name, c in entries[alias].rows.items()}
            with server.connect() as connection:
                self.tables[alias] = tables_before(connection, rows)
                runtime = runtime_role(connection, owner) if self.options.canary else None
                login = set_password(connection, runtime) if runtime else None
            self.canary_roles[alias] = runtime
            if login is not None:
                self.runtime[alias] = {"user": login.role, "password": login.password}
            dsn = psycopg.conninfo.make_conninfo(**server.conninfo())
            observer = Observer(connector(dsn, server.password), owner, self.options.sample_interval)
            observer.begin(sample=self.options.sample)
            self.observers[alias] = observer
            if login is not None:
                self.canaries[alias] = canary = Canary(
                    self._runtime_connect(alias, server, login.role, login.password),
                    _model_tables(alias),
                    lambda observer=observer: observer.current,  # type: ignore[misc]
                    self.options.canary_interval,
                )
                canary.start()

    def on_start(self, alias: str, migration: str) -> None:
        if alias in self.observers:
            self.observers[alias].start(migration)

    def on_line(self, alias: str, message: str) -> None:
        match = _APPLIED.match(message)
        if match and alias in self.observers:
            self.observers[alias].end(match["migration"], float(match["seconds"]))

    def finish(self) -> None:
        for canary in self.canaries.values():
            canary.stop()
        for observer in self.observers.values():
            observer.finish()

    def record(self, entries: Mapping[str, AliasReport]) -> None:
        """Each ready alias's observations and findings into its report entry."""
        limits = self.options.limits
        for alias in self.ready:
            entry, observer = entries[alias], self.observers.get(alias)
            entry.findings = check(self.plan.statements.get(alias, []), self.tables.get(alias, {}))
            if observer is None:
                continue
            canary = self.canaries.get(alias)
            entry.canary_role = self.canary_roles.get(alias)
            entry.canary_error = canary.error if canary else None
            entry.sampler_error = observer.error
            rows = {name: counts["before"] or 0 for name, counts in entry.rows.items()}
            for migration, observed in observer.migrations.items():
                seen = (held.as_dict(observer.sizes, rows) for held in observed.locks.values())
                locks = sorted(seen, key=_longest)
                traffic = canary.per_migration.get(migration, {}) if canary else {}
                entry.observed[migration] = {
                    "seconds": round(observed.seconds, 3),
                    "wal_bytes": max(0, observed.lsn[1] - observed.lsn[0]),
                    "locks": locks,
                    "statements": statements(observed)[:10],
                    "canary": traffic,
                }
                entry.findings += lock_findings(migration, locks, limits)
                entry.findings += canary_findings(migration, traffic, limits)
            entry.findings += privilege_finding(entry.failed_migration, entry.error, entry.owner)
            entry.figures = {
                "wal_bytes": observer.lsn[1] - observer.lsn[0],
                "size_before": observer.size[0],
                "size_after": observer.size[1],
            }

    def _runtime_connect(self, alias: str, server: CloneServer, role: str, password: str) -> Any:
        """Sessions as the runtime role under the config's statement_timeout (and lock_timeout if it sets one)."""
        statement, lock = _timeouts(self.config, alias)
        info = {**server.conninfo(), "user": role}
        options = f"-c statement_timeout={statement} -c lock_timeout={lock}"
        dsn = psycopg.conninfo.make_conninfo(**info, options=options, application_name="rehearsal_canary")

        def connect() -> psycopg.Connection[Any]:
            return psycopg.connect(dsn, password=password, autocommit=True)

        return connect


def _longest(lock: dict[str, Any]) -> float:
    return -float(lock["held_seconds"])


def _timeouts(config: ProjectConfig, alias: str) -> tuple[int, int]:
    """(statement_timeout, lock_timeout) in ms for the runtime role: the alias's `timeouts.statement` (issue 13's
    key; 30000 where the config has none yet) and any lock_timeout its libpq options set (else none, 0)."""
    database = config.databases[alias]
    timeouts = getattr(database, "timeouts", None)
    statement = getattr(timeouts, "statement", None) if timeouts is not None else None
    if isinstance(timeouts, Mapping):
        statement = timeouts.get("statement")
    found = re.search(r"lock_timeout\s*=\s*(\d+)", str(database.options.get("options", "")))
    return int(statement if statement is not None else _DEFAULT_STATEMENT_TIMEOUT_MS), int(found[1]) if found else 0


def _model_tables(alias: str) -> list[tuple[str, str]]:
    """(table, primary key column) of every concrete model that lives in `alias`."""
    from django.apps import apps
    from django.db import router

    found = []
    for model in apps.get_models():
        meta = model._meta
        if meta.managed and not meta.proxy and router.allow_migrate_model(alias, model):
            found.append((meta.db_table, meta.pk.column))
    return sorted(set(found))
