"""Django's `showmigrations`, reading an alias's history where `migrate_to` says it is recorded."""

from __future__ import annotations

from typing import Any

from django.core.management.commands import showmigrations
from django.db.migrations.loader import MigrationLoader

from multidb.history import loader_for, recorder_for
from multidb.routing import current_table


class Command(showmigrations.Command):
    help = "Django's showmigrations; for an alias with migrate_to, its history is read from that alias."

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        history = current_table().migratable.get(alias)
        if history is None or history == alias:
            super().handle(*args, **options)
            return
        self.verbosity = options["verbosity"]
        loader = loader_for(recorder_for(alias, history))
        labels = options["app_label"] or []
        self._validate_app_names(loader, labels)  # type: ignore[attr-defined]  # Django's, not in the stubs
        if options["format"] == "plan":
            self._show_routed_plan(loader, labels)
        else:
            self._show_routed_list(loader, labels)

    def _show_routed_list(self, loader: MigrationLoader, labels: list[str]) -> None:
        """Django's list format: each app, then ` [X] name` per migration in plan order."""
        applied = loader.applied_migrations or {}
        for label in sorted(labels or loader.migrated_apps):
            self.stdout.write(label, self.style.MIGRATE_LABEL)
            shown: list[tuple[str, str]] = []
            for leaf in loader.graph.leaf_nodes(label):
                shown += [key for key in loader.graph.forwards_plan(leaf) if key[0] == label and key not in shown]
            for key in shown:
                self.stdout.write(f" [{'X' if key in applied else ' '}] {key[1]}")
            if not shown:
                self.stdout.write(" (no migrations)", self.style.ERROR)

    def _show_routed_plan(self, loader: MigrationLoader, labels: list[str]) -> None:
        """Django's plan format: `[X]  app.name` for the whole graph (or the named apps and what they need)."""
        applied = loader.applied_migrations or {}
        leaves = [key for key in loader.graph.leaf_nodes() if not labels or key[0] in labels]
        seen: list[tuple[str, str]] = []
        for leaf in leaves:
            seen += [key for key in loader.graph.forwards_plan(leaf) if key not in seen]
        for app, name in seen:
            self.stdout.write(f"[{'X' if (app, name) in applied else ' '}]  {app}.{name}")
        if not seen:
            self.stdout.write("(no migrations)", self.style.ERROR)
