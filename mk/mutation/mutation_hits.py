"""pytest plugin for `make mutation`: credit each test with the mutated functions its subprocesses ran."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # mutmut runs pytest several times in one process (and forks from it): the unit conftest's
    # throwaway config folder of an earlier run is gone, so let the conftest make a new one.
    workdir = os.environ.get("MULTIDB_TEST_WORKDIR")
    if workdir and not Path(workdir).exists():
        os.environ.pop("MULTIDB_TEST_WORKDIR")
        os.environ.pop("APP_CONFIG", None)
    if not os.environ.get("MUTATION_HITS_DIR"):
        os.environ["MUTATION_HITS_DIR"] = tempfile.mkdtemp(prefix="mutation-hits-")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    if os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return
    from mutmut.state import state

    for path in Path(os.environ["MUTATION_HITS_DIR"]).glob("*.hits"):
        state()._stats.update(path.read_text().split())
        path.unlink()
