"""A migrating PostgreSQL session: no statement timeout, a lock timeout with retries, history only the owner writes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.migration import Migration
from django.db.migrations.state import ProjectState
from psycopg import sql

from .edge_config import TimeoutOptions
from .history import ROUTED_TABLE
from .journal import PENDING_TABLE

# The bookkeeping migrate_all writes: a runtime role able to write them could rewrite what "migrated" means.
HISTORY_TABLES = ("django_migrations", ROUTED_TABLE, PENDING_TABLE)
LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of "canceling statement due to lock timeout"
# Between attempts: long enough for a short transaction to end, short enough not to hold up a deploy.
BACKOFF_SECONDS = 0.5

# Every grant of a write privilege on the history tables to a role other than the table's owner and us.
_WRITERS = """
SELECT DISTINCT c.relname, coalesce(r.rolname, 'PUBLIC')
FROM pg_class c
CROSS JOIN LATERAL aclexplode(c.relacl) a
LEFT JOIN pg_roles r ON r.oid = a.grantee
WHERE c.oid IN (SELECT to_regclass(t) FROM unnest(%s::text[]) t)
  AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
  AND a.grantee <> c.relowner
  AND a.grantee <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
ORDER BY 1, 2
"""


class LockTimeoutExhaustedError(Exception):
    """A migration hit lock_timeout on every attempt; the message names it and how to proceed."""


def without_statement_timeout(connection: BaseDatabaseWrapper) -> None:
    """Migrations may run long (a backfill, an index): the app's statement_timeout must not cut them."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")


def with_lock_timeout(connection: BaseDatabaseWrapper, milliseconds: int) -> None:
    """A migration waiting for a table lock blocks every query queued behind it: wait this long at most."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{milliseconds}ms"])


def restrict_history(connection: BaseDatabaseWrapper) -> list[str]:
    """Revoke INSERT/UPDATE/DELETE/TRUNCATE on the history tables from every role but the owner (SELECT stays).

    Returns "table: role" for each grant revoked. Idempotent: a second run finds nothing to revoke.
    """
    if connection.vendor != "postgresql":
        return []
    revoked = []
    with connection.cursor() as cursor:
        cursor.execute(_WRITERS, [list(HISTORY_TABLES)])
        for table, role in cursor.fetchall():
            grantee = sql.SQL("PUBLIC") if role == "PUBLIC" else sql.Identifier(role)
            statement = sql.SQL("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON TABLE {} FROM {}").format(
                sql.Identifier(table), grantee
            )
            cursor.execute(statement.as_string(connection.connection))
            revoked.append(f"{table}: {role}")
    return revoked


@dataclass(frozen=True)
class LockRetry:
    """Re-run a migration that gave up on a lock (lock_timeout), from the state it started from."""

    alias: str
    timeouts: TimeoutOptions
    on_retry: Callable[[str], None]

    def run(
        self, apply: Callable[[ProjectState], ProjectState], state: ProjectState, migration: Migration
    ) -> ProjectState:
        retries = self.timeouts.migration_lock_retries
        # A non-atomic migration may have committed some statements: re-running it is not safe.
        attempts = retries + 1 if migration.atomic else 1
        key = f"{migration.app_label}.{migration.name}"
        for attempt in range(1, attempts + 1):
            try:
                # Applying mutates the state it is given; a failed attempt must not leak into the next.
                return apply(state.clone() if attempts > 1 else state)
            except DatabaseError as error:
                if not is_lock_timeout(error):
                    raise
                if attempt == attempts:
                    raise LockTimeoutExhaustedError(self._gave_up(key, attempts)) from error
                delay = BACKOFF_SECONDS * attempt
                self.on_retry(
                    f"{key} waited {self.timeouts.migration_lock} ms for a lock (lock_timeout); "
                    f"retry {attempt} of {retries} in {delay:.1f}s"
                )
                time.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _gave_up(self, key: str, attempts: int) -> str:
        return (
            f"{key} waited {self.timeouts.migration_lock} ms for a lock {attempts} time(s) (lock_timeout) "
            "while another session held its table; rerun migrate_all when that session ends, "
            f"or raise databases.{self.alias}.timeouts.migration_lock"
        )


def is_lock_timeout(error: BaseException) -> bool:
    """True when `error` (or what Django wrapped in it) is PostgreSQL's lock_timeout cancellation."""
    seen: BaseException | None = error
    while seen is not None:
        if getattr(seen, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
