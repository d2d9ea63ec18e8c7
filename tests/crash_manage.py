"""app/manage.py, except that the process dies (os._exit) at one point of one migration: a crash, not an error.

CRASH_AT=<point>:<app>.<name>, point one of POINTS. The points are places in Django's and this project's
code that exist whatever order the migrator chooses, so the same test runs against any implementation.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
POINTS = ("before_apply", "after_apply", "before_record", "after_record")


def _die(*_: Any) -> None:
    sys.stdout.flush()
    os._exit(70)


def _install(point: str, app: str, name: str) -> None:
    from django.db.migrations.migration import Migration

    from multidb.history import RoutedRecorder

    apply, record = Migration.apply, RoutedRecorder.record_applied

    def crashing_apply(self: Migration, *args: Any, **kwargs: Any) -> Any:
        mine = (self.app_label, self.name) == (app, name)
        if mine and point == "before_apply":
            _die()
        state = apply(self, *args, **kwargs)
        if mine and point == "after_apply":  # applied, inside the alias's open transaction
            _die()
        return state

    def crashing_record(self: RoutedRecorder, app_label: str, migration: str) -> None:
        mine = (app_label, migration) == (app, name)
        if mine and point == "before_record":
            _die()
        record(self, app_label, migration)
        if mine and point == "after_record":
            _die()

    Migration.apply = crashing_apply  # type: ignore[method-assign]
    RoutedRecorder.record_applied = crashing_record  # type: ignore[method-assign]


def run(*args: str, config: Path, crash_at: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """This script with `args`, as tests run manage.py: the config in APP_CONFIG, the repo on the path."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "DJANGO_SETTINGS"))}
    environ.update({"APP_CONFIG": str(config), "PYTHONPATH": str(REPO), "NO_COLOR": "1", "CRASH_AT": crash_at})
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env=environ, timeout=180, check=False
    )


def main() -> None:
    sys.path.insert(0, str(REPO / "app"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django
    from django.core.management import execute_from_command_line

    django.setup()
    point, _, key = os.environ["CRASH_AT"].partition(":")
    app, _, name = key.partition(".")
    if point not in POINTS:
        raise SystemExit(f"CRASH_AT: unknown point {point!r} (one of {', '.join(POINTS)})")
    _install(point, app, name)
    execute_from_command_line(["manage.py", *sys.argv[1:]])


if __name__ == "__main__":
    main()
