"""The commit journal: a routed alias's history follows its commit, and a crash in between is settled from here.

An alias with `migrate_to` commits its schema on one connection and its history on another; no single
transaction covers both. So, inside the alias's transaction and just before it commits, a pending row
naming the migration and a token of that transaction is written (and committed) in the history alias;
after the alias commits, the history row is written and the pending row removed. A pending row found by
the next run (under the alias's lock) means the process died in between: the token says whether the
alias's transaction committed, and the history is completed or the row dropped accordingly.
"""

from __future__ import annotations

from typing import Any

from django.apps.registry import Apps
from django.db import DatabaseError, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.recorder import MigrationRecorder
from django.utils.timezone import now

PENDING_TABLE = "multidb_migration_pending"
_PROBE = "multidb_commit_probe"  # created and dropped inside the transaction: moves SQLite's schema cookie


class _PendingModel(models.Model):
    database = models.CharField(max_length=255)
    app = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    forwards = models.BooleanField()  # applied (True) or unapplied (False) once the transaction commits
    token = models.CharField(max_length=64)
    created = models.DateTimeField(default=now)

    objects: Any = models.Manager()

    class Meta:
        apps = Apps()
        app_label = "multidb_history"
        db_table = PENDING_TABLE


class Journal:
    """Pending rows of one alias, kept in its history alias."""

    def __init__(self, history: BaseDatabaseWrapper, alias: str) -> None:
        self.history = history
        self.alias = alias

    @property
    def rows(self) -> Any:
        return _PendingModel.objects.using(self.history.alias).filter(database=self.alias)

    def ensure(self) -> None:
        """Create the pending table once; a concurrent creator winning the race is as good."""
        if self._has_table():
            return
        try:
            with self.history.schema_editor() as editor:
                editor.create_model(_PendingModel)
        except DatabaseError:
            if not self._has_table():
                raise

    def begin(self, connection: BaseDatabaseWrapper, keys: list[tuple[str, str]], forwards: bool) -> list[int]:
        """Inside `connection`'s open transaction: note what its commit will mean; [] if the engine cannot tell."""
        token = _commit_token(connection)
        if token is None:
            return []
        created = [
            self.rows.create(database=self.alias, app=app, name=name, forwards=forwards, token=token)
            for app, name in keys
        ]
        return [row.pk for row in created]

    def done(self, ids: list[int]) -> None:
        if ids:
            self.rows.filter(pk__in=ids).delete()

    def settle(self, connection: BaseDatabaseWrapper, recorder: MigrationRecorder) -> list[str]:
        """Complete or drop what a dead run left pending; the settled migrations, for the progress output."""
        if not self._has_table():
            return []
        settled = []
        for row in self.rows.order_by("pk"):
            committed = _committed(connection, row.token)
            if committed is None:
                raise RuntimeError(
                    f"cannot tell whether {row.app}.{row.name} committed on {self.alias} before a crash "
                    f"(token {row.token}); check its schema, then delete its row from {PENDING_TABLE}"
                )
            recorded = recorder.migration_qs.filter(app=row.app, name=row.name).exists()
            if committed and row.forwards and not recorded:
                recorder.record_applied(row.app, row.name)
            elif committed and not row.forwards and recorded:
                recorder.record_unapplied(row.app, row.name)
            if committed:
                settled.append(f"{row.app}.{row.name}")
            row.delete()
        return settled

    def _has_table(self) -> bool:
        with self.history.cursor() as cursor:
            return PENDING_TABLE in self.history.introspection.table_names(cursor)


def _commit_token(connection: BaseDatabaseWrapper) -> str | None:
    """Something the next run can test to learn whether this transaction committed."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT txid_current()")
            return f"pg:{cursor.fetchone()[0]}"
        if connection.vendor == "sqlite":
            # The schema cookie only grows, and only on commit; the probe makes it grow even for a
            # data-only migration, so "committed" is exactly "the cookie is above this value".
            cursor.execute("PRAGMA schema_version")
            version = cursor.fetchone()[0]
            cursor.execute(f"CREATE TABLE {_PROBE} (id integer)")
            cursor.execute(f"DROP TABLE {_PROBE}")
            return f"sqlite:{version}"
    return None


def _committed(connection: BaseDatabaseWrapper, token: str) -> bool | None:
    """True/False once the transaction is known to have committed/aborted; None when it cannot be told."""
    kind, _, value = token.partition(":")
    with connection.cursor() as cursor:
        if kind == "pg" and connection.vendor == "postgresql":
            # The crashed session held the alias's lock, which we hold now: its transaction is over.
            cursor.execute("SELECT txid_status(%s)", [int(value)])
            status = cursor.fetchone()[0]
            return {"committed": True, "aborted": False}.get(status)
        if kind == "sqlite" and connection.vendor == "sqlite":
            cursor.execute("PRAGMA schema_version")
            return bool(cursor.fetchone()[0] > int(value))
    return None
