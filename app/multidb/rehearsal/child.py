"""The migrate_all child of a rehearsal: the plan, each due migration's SQL (sqlmigrate), then the run itself.

Runs in its own process under the release's settings (see migrate.py). Lines it prints that the parent reads:
"rehearsal: plan written", "rehearsal: start <alias> <app.migration>", and migrate_all's own progress lines.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import sys
from typing import Any

PLANNED = "rehearsal: plan written"
STARTING = "rehearsal: start"
# Words in a RunPython function's source that show it works in batches (a queryset iterated in chunks).
_BATCHING = ("batch", "chunk_size", "iterator(", "[:", "bulk_update(")


def main(argv: list[str]) -> None:
    """argv: app dir, plan report, migrate report, statements report, then migrate_all's common arguments."""
    sys.path.insert(0, argv[0])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from multidb.errors import ConfigError

    try:
        django.setup()
    except ConfigError as error:
        sys.exit(f"config error: {error}")
    plan_file, run_file, statements_file, common = argv[1], argv[2], argv[3], argv[4:]
    for report, extra in ((plan_file, ["--plan"]), (run_file, [])):
        if not extra:
            _announce_starts()
        try:
            call_command("migrate_all", "--json", report, *extra, *common, skip_checks=False)
        except CommandError as error:
            print(f"CommandError: {error}", file=sys.stderr, flush=True)
            if not os.path.exists(report):  # stopped before migrating (exit 2, failed checks): so would the run
                sys.exit(2)
        if extra:
            with open(statements_file, "w", encoding="utf-8") as out:
                json.dump(_statements(plan_file), out)
            print(PLANNED, flush=True)


def _announce_starts() -> None:
    """Print a line as each migration starts, so the parent knows which migration its lock samples belong to."""
    from multidb.executor import RoutedExecutor

    original = RoutedExecutor.apply_migration

    def apply_migration(self: Any, state: Any, migration: Any, fake: bool = False, fake_initial: bool = False) -> Any:
        if not fake:
            print(f"{STARTING} {self.connection.alias} {migration.app_label}.{migration.name}", flush=True)
        return original(self, state, migration, fake, fake_initial)

    RoutedExecutor.apply_migration = apply_migration  # type: ignore[method-assign]


def _statements(plan_file: str) -> dict[str, list[dict[str, Any]]]:
    """alias -> [{migration, operations: [{type, describe, sql, batched}]}] for each migration the plan applies."""
    with open(plan_file, encoding="utf-8") as plan:
        aliases = json.load(plan)["aliases"]
    return {
        entry["alias"]: [
            _migration(entry["alias"], step["migration"]) for step in entry.get("steps", []) if not step["noop"]
        ]
        for entry in aliases
    }


def _migration(alias: str, key: str) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connections
    from django.db.migrations.loader import MigrationLoader

    app, name = key.split(".", 1)
    migration = MigrationLoader(None, ignore_no_migrations=True).get_migration(app, name)
    buffer, error = io.StringIO(), None
    try:
        call_command("sqlmigrate", app, name, database=alias, stdout=buffer, no_color=True)
    except Exception as failure:  # noqa: BLE001 - checked by operations alone then
        error = f"{type(failure).__name__}: {failure}"
    finally:
        connections[alias].close()
    chunks = _split(buffer.getvalue(), len(migration.operations))
    operations = [
        {
            "type": type(operation).__name__,
            "describe": operation.describe(),
            "sql": chunk,
            "batched": _batched(operation),
            "atomic": migration.atomic,
        }
        for operation, chunk in zip(migration.operations, chunks, strict=True)
    ]
    return {"migration": key, "operations": operations, "error": error}


def _split(text: str, count: int) -> list[list[str]]:
    """sqlmigrate's output as statements per operation (its "--\\n-- <describe>\\n--" headers separate them;
    deferred SQL at the end goes with the last operation)."""
    chunks: list[list[str]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line == "--" and index + 2 < len(lines) and lines[index + 2] == "--" and lines[index + 1][:3] == "-- ":
            chunks.append([])
            index += 3
            continue
        if chunks and not line.startswith("--") and line not in ("BEGIN;", "COMMIT;"):
            chunks[-1].append(line)
        index += 1
    statements = [[s.strip() for s in "\n".join(chunk).split(";\n") if s.strip()] for chunk in chunks]
    statements += [[] for _ in range(count - len(statements))]
    return [[s.rstrip(";") for s in chunk] for chunk in statements[:count]]


def _batched(operation: Any) -> bool | None:
    """For RunPython: whether its code works in batches (by its source); None for any other operation."""
    code = getattr(operation, "code", None)
    if type(operation).__name__ != "RunPython" or code is None:
        return None
    try:
        source = inspect.getsource(code)
    except (OSError, TypeError):
        return None
    return any(word in source for word in _BATCHING)


if __name__ == "__main__":
    main(sys.argv[1:])
