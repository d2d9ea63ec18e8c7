"""Shared test setup: every test runs against a throwaway copy of a config, never data/."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: needs Docker; Testcontainers PostgreSQL (tests/integration)")
    config.addinivalue_line("markers", "e2e: needs Docker; the Compose stack or Ansible on throwaway hosts (tests/e2e)")
    # Settings read APP_CONFIG at import, so it must point at the copy before Django starts.
    if "APP_CONFIG" not in os.environ:
        workdir = Path(tempfile.mkdtemp(prefix="multidb-unit-"))
        text = (REPO / "config" / "local.yaml").read_text().replace("data/", f"{workdir}/")
        config = workdir / "local.yaml"
        config.write_text(text)
        os.environ["APP_CONFIG"] = str(config)
        os.environ["MULTIDB_TEST_WORKDIR"] = str(workdir)
    # Throttle counts (a file cache) of this run only, not a shared /tmp/multidb-cache of earlier runs.
    if "DJANGO_CACHE_DIR" not in os.environ:
        os.environ["DJANGO_CACHE_DIR"] = os.environ["MULTIDB_TEST_CACHE"] = tempfile.mkdtemp(prefix="multidb-cache-")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Whole folders are one layer, so `pytest -m integration` selects them without a marker on every test.
    layers = {
        REPO / "tests" / "integration": pytest.mark.integration,
        REPO / "tests" / "rehearsal": pytest.mark.integration,
    }
    for item in items:
        for folder, marker in layers.items():
            if folder in item.path.parents:
                item.add_marker(marker)


def pytest_unconfigure() -> None:
    # Only the folders this run made (an outer APP_CONFIG or DJANGO_CACHE_DIR is the caller's).
    for made in ("MULTIDB_TEST_WORKDIR", "MULTIDB_TEST_CACHE"):
        folder = os.environ.get(made)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
