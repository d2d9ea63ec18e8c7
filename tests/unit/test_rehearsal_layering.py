"""The rehearsal sits beside the routing library, not inside it: the library never imports it, nor Testcontainers."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.unit.cli import REPO

# Imports every module of the multidb library (not its subpackages) with Django set up on the local config,
# then, on request, the rehearse_migrations command module; prints what of the rehearsal got imported.
_PROBE = """
import importlib, pkgutil, sys
import django
django.setup()
import multidb
for module in pkgutil.iter_modules(multidb.__path__):
    if not module.ispkg:
        importlib.import_module(f"multidb.{module.name}")
for name in sys.argv[1:]:
    importlib.import_module(name)
print(sorted(m for m in sys.modules if m.startswith(("multidb.rehearsal", "testcontainers"))))
"""


def imported_after(*modules: str) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "DJANGO_SETTINGS"))}
    environ.update(APP_ENV="local", DJANGO_SETTINGS_MODULE="project.settings", PYTHONPATH=str(REPO / "app"))
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *modules], capture_output=True, text=True, env=environ, timeout=60, check=True
    )
    return done.stdout.strip()


def test_routing_library_imports_nothing_of_the_rehearsal() -> None:
    assert imported_after() == "[]"


def test_rehearse_migrations_command_imports_testcontainers_only_when_it_runs() -> None:
    loaded = imported_after("multidb.management.commands.rehearse_migrations")
    # The report and its pure helpers (no Testcontainers, no psycopg connection): what the command needs to load.
    expected = ["errors", "report", "report_watch", "checks"]
    assert loaded == str(sorted(["multidb.rehearsal", *(f"multidb.rehearsal.{name}" for name in expected)]))
