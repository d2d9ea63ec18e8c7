"""A per-alias migration lock, so concurrent migrate_all runs apply each migration once."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper

# One fixed key per database: every migrate_all of any release contends for the same lock.
MIGRATION_LOCK_KEY = zlib.crc32(b"multidb.migrate_all") & 0x7FFFFFFF
# Held only while creating the history tables of a `migrate_to` alias, which several aliases share:
# a key of its own, so it never waits for a long migration of the history alias itself.
HISTORY_LOCK_KEY = zlib.crc32(b"multidb.history_tables") & 0x7FFFFFFF


@contextmanager
def migration_lock(
    connection: BaseDatabaseWrapper, on_wait: Callable[[], None] = lambda: None, key: int = MIGRATION_LOCK_KEY
) -> Iterator[None]:
    """Hold a PostgreSQL session advisory lock on `connection` while migrating it.

    Other engines need none here: SQLite serializes writers on the file itself.
    The lock is session-scoped, so it survives the per-migration transactions
    and is released even if the process dies (the session ends).
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        if not cursor.fetchone()[0]:
            on_wait()
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        except DatabaseError:
            pass  # the session is gone, and its lock with it
