"""Canary traffic on a clone while it migrates: reads by primary key and inserts, as the runtime role would."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import errors, sql

# SQLSTATEs of a query stopped by statement_timeout (57014) or lock_timeout (55P03).
_TIMEOUTS = (errors.QueryCanceled, errors.LockNotAvailable)


class Canary:
    """One session as the runtime role, under the config's timeouts: every `interval` seconds, a round of a read
    by primary key and an insert (rolled back, so the clone's rows stay as they were) on every table of the
    alias's models; each query's time is filed under the migration running when it started."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        tables: Sequence[tuple[str, str]],
        current: Callable[[], str | None],
        interval: float,
    ) -> None:
        self._connect, self.tables, self._current, self.interval = connect, list(tables), current, interval
        self.per_migration: dict[str, dict[str, Any]] = {}
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rehearsal-canary", daemon=True)

    def start(self) -> None:
        if self.tables:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def _run(self) -> None:
        try:
            with self._connect() as connection:
                keys = {table: _some_key(connection, table, pk) for table, pk in self.tables}
                while not self._stop.wait(self.interval):
                    for table, pk in self.tables:
                        for write in (False, True):
                            migration = self._current()
                            if migration is not None:
                                self._query(connection, migration, table, pk, keys[table], write)
        except Exception as error:  # noqa: BLE001 - the canary is a measurement: its failure is reported
            self.error = f"{type(error).__name__}: {error}"

    def _query(
        self, connection: psycopg.Connection[Any], migration: str, table: str, pk: str, key: Any, write: bool
    ) -> None:
        stats = self.per_migration.setdefault(
            migration, {"queries": 0, "timeouts": 0, "errors": 0, "longest_wait": 0.0, "longest_table": None}
        )
        started = time.monotonic()
        try:
            if write:
                _insert(connection, table, pk, key)
            else:
                connection.execute(_READ.format(sql.Identifier(table), sql.Identifier(pk)), [key]).fetchall()
        except _TIMEOUTS:
            stats["timeouts"] += 1
        except psycopg.Error:
            stats["errors"] += 1  # a table or column the migration changed under the old query: not a wait
        waited = time.monotonic() - started
        stats["queries"] += 1
        if waited > stats["longest_wait"]:
            stats["longest_wait"] = round(waited, 3)
            stats["longest_table"] = f"{table} ({'insert' if write else 'read'})"


_READ = sql.SQL("SELECT * FROM {} WHERE {} = %s")
_COLUMNS = """
SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attname <> %s AND a.attidentity = '' AND a.attgenerated = ''
ORDER BY a.attnum
"""


def _some_key(connection: psycopg.Connection[Any], table: str, pk: str) -> Any:
    """A primary key value present in the table (its smallest), or 0 for an empty table."""
    query = sql.SQL("SELECT min({}) FROM {}").format(sql.Identifier(pk), sql.Identifier(table))
    try:
        row = connection.execute(query).fetchone()
    except psycopg.Error:
        return 0
    return row[0] if row and row[0] is not None else 0


def _insert(connection: psycopg.Connection[Any], table: str, pk: str, key: Any) -> None:
    """A copy of one row without its primary key, rolled back: it takes the locks an insert takes."""
    names = [row[0] for row in connection.execute(_COLUMNS, [f'public."{table}"', pk]).fetchall()]
    columns = sql.SQL(", ").join(map(sql.Identifier, names))
    statement = sql.SQL("INSERT INTO {table} ({columns}) SELECT {columns} FROM {table} WHERE {pk} = %s").format(
        table=sql.Identifier(table), columns=columns, pk=sql.Identifier(pk)
    )
    with connection.transaction(force_rollback=True):
        connection.execute(statement, [key])
