"""What each migration does to a clone while it runs: locks taken (sampled), long statements, WAL, database size."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

# Relation locks of the migrating role's sessions (an uncommitted new relation is not visible to this session: it
# shows as its oid). No size here: pg_relation_size() would wait behind the very lock being observed.
_LOCKS = """
SELECT clock_timestamp(), l.mode, l.granted,
       CASE WHEN c.oid IS NULL THEN l.relation::text ELSE format('%%I.%%I', n.nspname, c.relname) END, c.relkind
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
LEFT JOIN pg_class c ON c.oid = l.relation LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE l.locktype = 'relation' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND a.usename = %(role)s AND a.pid <> pg_backend_pid() AND coalesce(n.nspname, '') <> 'pg_catalog'
"""
_ACTIVITY = """
SELECT pid, state, query_start, state_change, clock_timestamp(), left(query, 300)
FROM pg_stat_activity WHERE usename = %(role)s AND backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND query_start IS NOT NULL
"""
_FIGURES = "SELECT pg_current_wal_lsn()::text, pg_database_size(current_database())"
# Every relation's size before migrate_all starts, when nothing holds a lock that would make this wait.
_SIZES = """
SELECT format('%I.%I', n.nspname, c.relname), pg_relation_size(c.oid) FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'
"""


@dataclass
class Held:
    """One lock mode on one relation during one migration, as sampled."""

    relation: str
    mode: str
    kind: str | None  # pg_class.relkind: r table, i index...; None if not visible (created by the migration)
    first: datetime
    last: datetime
    granted: bool

    @property
    def seconds(self) -> float:
        return (self.last - self.first).total_seconds()

    def as_dict(self, sizes: dict[str, int], rows: dict[str, int]) -> dict[str, Any]:
        """With the relation's size and rows before migrate_all (None: created by it)."""
        return {
            "relation": self.relation,
            "mode": self.mode,
            "granted": self.granted,
            # Between the first and the last sample that saw it: a lower bound (seen once: 0), to `interval`.
            "held_seconds": round(self.seconds, 3),
            "size_bytes": sizes.get(self.relation),
            "rows": rows.get(self.relation),
            "table": self.kind in ("r", "p", "m"),
        }


@dataclass
class Observed:
    """One migration on one clone: locks, the statements seen running, WAL written, duration."""

    locks: dict[tuple[str, str], Held] = field(default_factory=dict)
    statements: dict[tuple[int, datetime], dict[str, Any]] = field(default_factory=dict)
    lsn: tuple[int, int] = (0, 0)
    seconds: float = 0.0


class Observer:
    """Samples one clone server's pg_locks and pg_stat_activity every `interval` seconds on its own session and
    files each sample under the migration running then (start() and end() come from migrate_all's output)."""

    def __init__(self, connect: Any, role: str, interval: float) -> None:
        self._connect, self.role, self.interval = connect, role, interval
        self.migrations: dict[str, Observed] = {}
        self.current: str | None = None
        self._generation = 0  # changes at every start() and end(): a sample spanning one is dropped
        self.size: tuple[int, int] = (0, 0)
        self.lsn: tuple[int, int] = (0, 0)
        self.error: str | None = None  # why sampling stopped early, if it did
        self.sizes: dict[str, int] = {}  # "schema.relation" -> bytes, before migrate_all
        self._stop = threading.Event()
        self._marks = connect()
        self._thread = threading.Thread(target=self._run, name="rehearsal-sampler", daemon=True)

    def begin(self, sample: bool = True) -> None:
        self.sizes = {str(name): int(size) for name, size in self._marks.execute(_SIZES).fetchall()}
        lsn, size = self._figures()
        self.lsn, self.size = (lsn, lsn), (size, size)
        if sample:
            self._thread.start()

    def start(self, migration: str) -> None:
        observed = self.migrations.setdefault(migration, Observed())
        observed.lsn = (self._figures()[0], 0)
        self.current, self._generation = migration, self._generation + 1

    def end(self, migration: str, seconds: float | None = None) -> None:
        observed = self.migrations.get(migration)
        if observed is not None:
            observed.lsn = (observed.lsn[0], self._figures()[0])
            observed.seconds = seconds or 0.0
        self.current, self._generation = None, self._generation + 1

    def finish(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if self.current is not None:  # a failed migration: no "applied" line came
            self.end(self.current)
        lsn, size = self._figures()
        self.lsn, self.size = (self.lsn[0], lsn), (self.size[0], size)
        self._marks.close()

    def _figures(self) -> tuple[int, int]:
        row = self._marks.execute(_FIGURES).fetchone()
        return (_lsn(str(row[0])), int(row[1])) if row else (0, 0)

    def _run(self) -> None:
        try:
            self._sample()
        except Exception as error:  # noqa: BLE001 - a measurement: its failure is reported, the rehearsal goes on
            self.error = f"{type(error).__name__}: {error}"

    def _sample(self) -> None:
        with self._connect() as connection:
            while not self._stop.wait(self.interval):
                migration, generation = self.current, self._generation
                if migration is None:
                    continue
                locks = connection.execute(_LOCKS, {"role": self.role}).fetchall()
                activity = connection.execute(_ACTIVITY, {"role": self.role}).fetchall()
                if generation != self._generation:  # the migration ended meanwhile: whose sample is it?
                    continue
                observed = self.migrations.setdefault(migration, Observed())
                for row in locks:
                    _add_lock(observed, row)
                for row in activity:
                    _add_statement(observed, row)


def _add_lock(observed: Observed, row: tuple[Any, ...]) -> None:
    at, mode, granted, relation, kind = row
    held = observed.locks.get((relation, mode))
    if held is None:
        observed.locks[(relation, mode)] = Held(relation, mode, kind, at, at, granted)
        return
    held.last, held.granted, held.kind = at, held.granted or granted, kind or held.kind


def _add_statement(observed: Observed, row: tuple[Any, ...]) -> None:
    """A statement seen running or just finished; finished, its end is state_change (exact)."""
    pid, state, query_start, state_change, now, query = row
    key = (pid, query_start)
    if state == "active":
        observed.statements.setdefault(key, {"query": query, "start": query_start})["end"] = now
    elif key in observed.statements and state_change is not None:
        observed.statements[key]["end"] = state_change
        observed.statements[key]["done"] = True


def statements(observed: Observed) -> list[dict[str, Any]]:
    """The statements seen running, longest first, with their duration (from the server's clock)."""
    found = [
        {
            "seconds": round((s["end"] - s["start"]).total_seconds(), 3),
            "query": " ".join(s["query"].split()),
            "finished": s.get("done", False),
        }
        for s in observed.statements.values()
        if not s["query"].lstrip().upper().startswith(("SELECT PG_ADVISORY", "SELECT PG_TRY_ADVISORY"))
    ]
    return sorted(found, key=lambda s: -s["seconds"])


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def connector(dsn: str, password: str) -> Any:
    """A function opening an autocommit session on a clone server, named so samplers leave it out."""

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(dsn, password=password, autocommit=True, application_name="rehearsal_sampler")

    return connect
