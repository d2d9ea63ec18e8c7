"""Model changes that have no migration yet (what `makemigrations --check` would report)."""

from __future__ import annotations

from django.apps import apps
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
from django.db.migrations.state import ProjectState


def missing_migrations() -> dict[str, list[str]]:
    """App label -> descriptions of model changes not covered by a migration file."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    detector = MigrationAutodetector(
        loader.project_state(),
        ProjectState.from_apps(apps),
        NonInteractiveMigrationQuestioner(specified_apps=None, dry_run=True),
    )
    changes = detector.changes(graph=loader.graph)
    return {
        label: [operation.describe() for migration in migrations for operation in migration.operations]
        for label, migrations in sorted(changes.items())
    }
