"""Django's `migrate <app> [<target>|zero]` for an alias whose history is in its `migrate_to` alias."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal
from django.db import connections
from django.db.migrations.exceptions import AmbiguityError

from .executor import RoutedExecutor
from .history import RoutedRecorder, loader_for
from .journal import Journal
from .locks import migration_lock
from .migrator import Progress, ensure_history_tables


def migrate_app(alias: str, history: str, app_label: str, target: str | None, progress: Progress) -> list[str]:
    """Move `app_label` on `alias` forwards or backwards to `target` (None: its latest); the migrations run.

    The schema changes on `alias`, the history in `history`, each row after its commit, under the
    same lock and journal as migrate_all, so the two commands never disagree.
    """
    connection = connections[alias]
    recorder = RoutedRecorder(connections[history], alias)
    ensure_history_tables(recorder)
    done: list[str] = []

    def on_progress(action: str, migration: object = None, fake: bool = False) -> None:
        if action in ("apply_success", "unapply_success"):  # not render_success, which names no migration
            key = f"{getattr(migration, 'app_label', '')}.{getattr(migration, 'name', '')}"
            done.append(key)
            progress(alias, f"{'applied' if action == 'apply_success' else 'unapplied'} {key}")

    with migration_lock(connection, lambda: progress(alias, "waiting for another migrate_all to finish")):
        Journal(recorder.connection, alias).settle(connection, recorder)
        loader = loader_for(recorder)
        targets = _targets(loader, app_label, target)
        executor = RoutedExecutor(connection, loader, recorder, on_progress)
        plan = executor.migration_plan(targets)
        emit_pre_migrate_signal(0, False, alias, plan=plan)
        executor.migrate(targets, plan=plan)
        emit_post_migrate_signal(0, False, alias, plan=plan)
    return done


def _targets(loader: object, app_label: str, target: str | None) -> list[tuple[str, str | None]]:
    graph = loader.graph  # type: ignore[attr-defined]
    if target is None:
        return [key for key in graph.leaf_nodes() if key[0] == app_label]
    if target == "zero":
        return [(app_label, None)]
    try:
        migration = loader.get_migration_by_prefix(app_label, target)  # type: ignore[attr-defined]
    except AmbiguityError:
        raise CommandError(f"more than one migration of {app_label} matches {target!r}", returncode=2) from None
    except KeyError:
        raise CommandError(f"no migration of {app_label} matches {target!r}", returncode=2) from None
    return [(app_label, migration.name)]
