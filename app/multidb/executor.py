"""Django's migration executor with the history where the routing table says, written after the alias commits."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState

from .history import RoutedRecorder
from .journal import Journal
from .migration_session import LockRetry


class RoutedExecutor(MigrationExecutor):
    """For a `migrate_to` alias, each migration's history row follows its commit (see journal.py).

    Django records inside the migration's transaction, which is atomic only when the history is on
    the same connection. Here it is not: recording first would leave "applied" in the history of a
    schema that was rolled back. Aliases keeping their own history run Django's code unchanged.
    """

    def __init__(
        self,
        connection: Any,
        loader: MigrationLoader,
        recorder: MigrationRecorder,
        progress: Any,
        lock_retry: LockRetry | None = None,
    ) -> None:
        self.connection = connection
        self.lock_retry = lock_retry
        self.loader = loader
        self.recorder = recorder
        self.progress_callback = progress
        self.journal = Journal(recorder.connection, recorder.alias) if isinstance(recorder, RoutedRecorder) else None

    def apply_migration(
        self, state: ProjectState, migration: Migration, fake: bool = False, fake_initial: bool = False
    ) -> ProjectState:
        if self.lock_retry is None or fake:
            return self._apply_once(state, migration, fake, fake_initial)
        attempt = partial(self._apply_once, migration=migration, fake=fake, fake_initial=fake_initial)
        return self.lock_retry.run(attempt, state, migration)

    def _apply_once(self, state: ProjectState, migration: Migration, fake: bool, fake_initial: bool) -> ProjectState:
        if self.journal is None or fake or fake_initial:
            return super().apply_migration(state, migration, fake, fake_initial)
        self._report("apply_start", migration)
        keys = list(migration.replaces) or [(migration.app_label, migration.name)]
        state = self._commit_then_record(state, migration, keys, forwards=True)
        self._report("apply_success", migration)
        return state

    def unapply_migration(self, state: ProjectState, migration: Migration, fake: bool = False) -> ProjectState:
        if self.journal is None or fake:
            return super().unapply_migration(state, migration, fake)
        self._report("unapply_start", migration)
        keys = [*migration.replaces, (migration.app_label, migration.name)]
        state = self._commit_then_record(state, migration, keys, forwards=False)
        self._report("unapply_success", migration)
        return state

    def _commit_then_record(
        self, state: ProjectState, migration: Migration, keys: list[tuple[str, str]], forwards: bool
    ) -> ProjectState:
        journal = self.journal
        if journal is None:  # only called when there is one; says so to the type checker
            raise TypeError("no journal")
        journal.ensure()
        pending: list[int] = []
        with self.connection.schema_editor(atomic=migration.atomic) as editor:
            state = migration.apply(state, editor) if forwards else migration.unapply(state, editor)
            if migration.atomic:  # a non-atomic migration has no single commit to follow (as in Django)
                pending = journal.begin(self.connection, keys, forwards)
        # Committed (deferred SQL included): only now may the history say so.
        for app, name in keys:
            if forwards:
                self.recorder.record_applied(app, name)
            else:
                self.recorder.record_unapplied(app, name)
        journal.done(pending)
        return state

    def _report(self, action: str, migration: Migration) -> None:
        if self.progress_callback:
            self.progress_callback(action, migration, False)
