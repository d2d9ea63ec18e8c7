"""Migrate one alias, or all of them: default first, then the rest, optionally in parallel."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal
from django.db import connections
from django.db.migrations.exceptions import MigrationSchemaMissing
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from .edge_config import TimeoutOptions
from .executor import RoutedExecutor
from .history import RoutedRecorder, loader_for, recorder_for, sqlite_file_missing, unapplied
from .journal import Journal
from .locks import HISTORY_LOCK_KEY, migration_lock
from .migration_session import LockRetry, restrict_history, with_lock_timeout, without_statement_timeout
from .routing import RoutingTable, current_table
from .schema import forget_lost, schema_loss
from .status import MigrateStatus
from .text import one_line

Progress = Callable[[str, str], None]  # (alias, message)


@dataclass
class Step:
    """One migration applied (or due) on an alias; `noop` when its app lives elsewhere."""

    migration: str
    noop: bool
    seconds: float | None = None


@dataclass
class AliasResult:
    alias: str
    status: MigrateStatus
    history: str | None = None
    steps: list[Step] = field(default_factory=list)
    reason: str | None = None
    failed_migration: str | None = None
    recreated: list[str] = field(default_factory=list)  # recorded as applied, but their tables were gone
    seconds: float = 0.0
    traceback: str | None = field(default=None, repr=False)  # shown only with --traceback

    @property
    def applied(self) -> list[Step]:
        """The steps that change this alias's schema or data (not no-op records)."""
        return [step for step in self.steps if not step.noop]

    def as_dict(self) -> dict[str, Any]:
        report = asdict(self)
        del report["traceback"]
        return report


def migrate_all(
    table: RoutingTable,
    selected: Iterable[str],
    *,
    jobs: int = 1,
    fail_fast: bool = False,
    plan_only: bool = False,
    progress: Progress = lambda alias, message: None,
) -> list[AliasResult]:
    """Migrate the selected aliases; one failure does not stop the others unless `fail_fast`."""
    selected = [alias for alias in table.aliases if alias in set(selected)]
    results: dict[str, AliasResult] = {}
    stop = threading.Event()

    def run(alias: str) -> AliasResult:
        if stop.is_set():
            return AliasResult(alias, MigrateStatus.SKIPPED, reason="--fail-fast after an earlier failure")
        history = table.migratable.get(alias)
        if history is None:
            why = "replica, never migrated" if alias in table.replicas else "not migratable (no migrate or migrate_to)"
            return AliasResult(alias, MigrateStatus.SKIPPED, reason=why)
        try:
            result = migrate_alias(alias, history, set(table.apps_migrated_on(alias)), plan_only, progress)
        finally:
            connections.close_all()  # this thread's connections
        if result.status == MigrateStatus.FAILED and fail_fast:
            stop.set()
        return result

    # default first: every other app's migrations may depend on its apps (auth, contenttypes).
    first, rest = [a for a in selected if a == "default"], [a for a in selected if a != "default"]
    for alias in first:
        results[alias] = run(alias)
    if not plan_only:
        # Several aliases may share one history alias: create its tables once, before they run at once.
        for history in sorted({table.migratable[a] for a in rest if table.migratable.get(a, a) != a}):
            _prepare_history(history)
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="migrate") as pool:
        for alias, result in zip(rest, pool.map(run, rest), strict=True):
            results[alias] = result
    return [results[alias] for alias in selected]


def migrate_alias(alias: str, history: str, own_apps: set[str], plan_only: bool, progress: Progress) -> AliasResult:
    """Apply (or with `plan_only`, list) everything unapplied on `alias`, under its lock."""
    connection = connections[alias]
    result = AliasResult(alias, MigrateStatus.OK, history=history)
    started = time.monotonic()
    current: dict[str, Any] = {}

    def on_progress(action: str, migration: Any = None, fake: bool = False) -> None:
        if action == "apply_start":
            current.update(key=f"{migration.app_label}.{migration.name}", start=time.monotonic())
        elif action == "apply_success":
            step = Step(current["key"], migration.app_label not in own_apps, time.monotonic() - current["start"])
            result.steps.append(step)
            current.clear()
            if not step.noop:
                progress(alias, f"applied {step.migration} ({step.seconds:.3f}s)")

    timeouts = current_table().timeouts.get(alias, TimeoutOptions())
    try:
        if not plan_only:
            _create_sqlite_folder(connection)
        recorder = recorder_for(alias, history)
        sessions = {connection, recorder.connection}  # one, or the alias's and its history alias's
        for session in sessions:
            without_statement_timeout(session)
        if not plan_only and isinstance(recorder, RoutedRecorder):
            ensure_history_tables(recorder)
        lock = (
            nullcontext()
            if plan_only
            else migration_lock(connection, lambda: progress(alias, "waiting for another migrate_all to finish"))
        )
        with lock:
            # Only now: waiting for another migrate_all's advisory lock is expected, and must not time out.
            with_lock_timeout(connection, timeouts.migration_lock)
            # Read the history only once the lock is held: a concurrent run may just have applied it.
            if not plan_only and isinstance(recorder, RoutedRecorder):
                for key in Journal(recorder.connection, alias).settle(connection, recorder):
                    progress(alias, f"recorded {key}, committed by a run that died before recording it")
            loader = loader_for(recorder)
            loss = schema_loss(connection, loader, own_apps, None)
            if loss is not None:
                result.recreated = forget_lost(loss, loader, recorder, write=not plan_only)
                progress(alias, f"{loss.describe(history)}; {'would re-apply' if plan_only else 're-applying'} them")
            if plan_only:
                result.steps = [Step(f"{app}.{name}", app not in own_apps) for app, name in unapplied(loader)]
            else:
                result.steps.extend(_record_foreign(loader, recorder, own_apps))
                retry = LockRetry(alias, timeouts, lambda message: progress(alias, message))
                _apply(connection, loader, recorder, on_progress, retry)
        if not plan_only:
            _restrict_history(alias, sessions, progress)
    except Exception as error:  # noqa: BLE001 - every failure becomes this alias's result line
        result.status = MigrateStatus.FAILED
        result.failed_migration = current.get("key")
        result.reason = one_line(error)
        result.traceback = traceback.format_exc()
    result.seconds = time.monotonic() - started
    return result


def _restrict_history(alias: str, sessions: set[Any], progress: Progress) -> None:
    for session in sessions:
        for grant in restrict_history(session):
            progress(alias, f"revoked writes on {grant} (history is the owner's to write)")


def _apply(
    connection: Any, loader: MigrationLoader, recorder: MigrationRecorder, on_progress: Any, retry: LockRetry
) -> None:
    executor = RoutedExecutor(connection, loader, recorder, on_progress, retry)
    targets = loader.graph.leaf_nodes()
    plan = executor.migration_plan(targets)
    emit_pre_migrate_signal(0, False, connection.alias, plan=plan)
    executor.migrate(targets, plan=plan)
    emit_post_migrate_signal(0, False, connection.alias, plan=plan)


def _record_foreign(loader: MigrationLoader, recorder: MigrationRecorder, own_apps: set[str]) -> list[Step]:
    """Record other apps' unapplied migrations without replaying them: the router makes each a no-op here.

    Django would replay every one (rendering model states, running nothing),
    which costs each alias time in proportion to the whole project; recording
    them keeps Django's own tools (showmigrations, makemigrations' consistency
    check) seeing a consistent history all the same.
    """
    due = unapplied(loader)
    own_due = {key for key in due if key[0] in own_apps}
    # Only those that need none of our own unapplied migrations first (the state must stay renderable:
    # on default, blog.0001 needs auth.0001's User); the rest are replayed in the plan as usual.
    foreign = [
        key for key in due if key[0] not in own_apps and not own_due.intersection(loader.graph.forwards_plan(key))
    ]
    for app, name in foreign:
        recorder.record_applied(app, name)
    applied: dict[tuple[str, str], Any] = dict(loader.applied_migrations or {})
    loader.applied_migrations = applied | dict.fromkeys(foreign)
    return [Step(f"{app}.{name}", noop=True, seconds=0.0) for app, name in foreign]


def ensure_history_tables(recorder: RoutedRecorder) -> None:
    """Create the routed history tables in the history alias, once, even with other runs racing to."""
    connection = recorder.connection
    _create_sqlite_folder(connection)
    without_statement_timeout(connection)
    with migration_lock(connection, key=HISTORY_LOCK_KEY):  # other processes; SQLite serialises on the file
        try:
            recorder.ensure_schema()
        except MigrationSchemaMissing:
            if not recorder.has_table():  # another process (SQLite has no lock here) created it first
                raise
        Journal(connection, recorder.alias).ensure()


def _prepare_history(history: str) -> None:
    try:
        ensure_history_tables(RoutedRecorder(connections[history], "-"))
    except Exception:  # noqa: BLE001, S110 - each alias recording there will then fail with the reason itself
        pass
    finally:
        connections[history].close()


def _create_sqlite_folder(connection: Any) -> None:
    if sqlite_file_missing(connection):
        Path(connection.settings_dict["NAME"]).parent.mkdir(parents=True, exist_ok=True)
