"""pytest plugin for `make mutation`: subprocess hits for mutmut's stats, and a bounded, targeted run per mutant."""

from __future__ import annotations

import inspect
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import hypothesis
import pytest

# The unit test files that exercise each module most directly: run first, so a mutant usually dies in seconds.
TARGETED = {
    "checks": ["test_checks"],
    "config": ["test_loader_errors", "test_loader_adversarial"],
    "errors": ["test_loader_errors"],
    "loader": ["test_loader_errors", "test_loader_adversarial"],
    "health": ["test_health"],
    "views": ["test_health"],
    "history": ["test_migrate_all", "test_health"],
    "migrator": ["test_migrate_all", "test_schema"],
    "pending_models": ["test_migrate_all"],
    "middleware": ["test_replicas"],
    "replicas": ["test_replicas"],
    "router": ["test_router", "test_api", "test_admin", "test_signals"],
    "routing": ["test_router", "test_sharding", "test_migrate_all"],
    "sharding": ["test_sharding"],
    "settings_builder": ["test_router", "test_replicas"],
}
# runserver fixtures start the server without the test's environment, so no mutant is ever active there
# (and under load the server may not answer in time): such tests are left out of mutation runs.
SERVER_FIXTURES = {"server", "replicated_server"}
# Tests of what the copy leaves out (docs/, scripts/ and rehearsal, whose subprocesses put the copy's app/,
# which has no multidb, on their path): they cannot pass there, and no mutant is ever active in them.
OUTSIDE_FILES = ("test_docs.py", "test_rehearsal_", "test_status.py")  # test_status: runserver via server_for
# Test files that read scripts/ (not copied; the Compose generator, backup and readyz scripts) cannot pass
# in the copy, and some fail at collection, before any deselection: every file naming the folder is left
# out, except test_configs.py, whose generator tests (OUTSIDE_TESTS) are deselected by name.
SCRIPTS_MARK = '"scripts"'
KEEP_FILES = ("test_configs.py",)
OUTSIDE_TESTS = ("test_compose_generator",)
_started = time.monotonic()
_started_cpu = 0.0
_stats_passed = False
# The budget counts CPU seconds (this process and the manage.py subprocesses it has waited for), not wall
# time: a worker paused (SIGSTOP beside a CI run) or starved by other load would otherwise report a mutant
# its tests kill in seconds as "timeout". Wall time still bounds a mutant that hangs without using CPU.
WALL_PER_CPU_SECOND = 5


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _mutant() -> str:
    """The mutant under test, or '' for mutmut's stats, clean and forced-fail runs."""
    name = os.environ.get("MUTANT_UNDER_TEST", "")
    return "" if name in ("", "stats", "fail", "mutant_generation") else name


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    global _started, _started_cpu
    _started, _started_cpu = time.monotonic(), _cpu_seconds()
    # mutmut runs pytest several times in one process (and forks from it): the unit conftest's
    # throwaway config and cache folders of an earlier run are gone, so let the conftest make new ones.
    for made, points in (("MULTIDB_TEST_WORKDIR", "APP_CONFIG"), ("MULTIDB_TEST_CACHE", "DJANGO_CACHE_DIR")):
        folder = os.environ.get(made)
        if folder and not Path(folder).exists():
            os.environ.pop(made)
            os.environ.pop(points, None)
    # Trampolines make every call slower: hypothesis' per-example deadline would fail the clean run.
    hypothesis.settings.register_profile("mutation", deadline=None)
    hypothesis.settings.load_profile("mutation")
    # Only the stats run collects subprocess hits; the folder goes when that run ends (sessionfinish).
    if os.environ.get("MUTANT_UNDER_TEST") == "stats" and not os.environ.get("MUTATION_HITS_DIR"):
        os.environ["MUTATION_HITS_DIR"] = tempfile.mkdtemp(prefix="mutation-hits-")


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    """Skip test files that cannot even be imported in the copy (they test scripts/, not multidb)."""
    if collection_path.suffix != ".py" or collection_path.name in KEEP_FILES:
        return None
    return True if SCRIPTS_MARK in collection_path.read_text() else None


def _starts_a_server(item: pytest.Item) -> bool:
    """A test that calls server_for() itself (not through a fixture): runserver, so no mutant is active there."""
    function = getattr(item, "function", None)
    try:
        return function is not None and "server_for(" in inspect.getsource(function)
    except (OSError, TypeError):
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out runserver and outside tests; for a mutant, its own test files first, then the rest fastest first."""
    served = [
        item
        for item in items
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))
        or _starts_a_server(item)
        or item.name.startswith(OUTSIDE_TESTS)
        or item.path.name.startswith(OUTSIDE_FILES)
    ]
    if served:
        config.hook.pytest_deselected(items=served)
        items[:] = [item for item in items if item not in served]
    if os.environ.get("MUTANT_UNDER_TEST") == "" and _stats_passed:
        # mutmut's "clean" run repeats, with no mutant, the stats run that just passed in this process.
        for item in items:
            item.add_marker(pytest.mark.skip(reason="passed in mutmut's stats run moments ago"))
        return
    mutant = _mutant()
    if not mutant:
        return
    module = mutant.split(".")[1] if mutant.startswith("multidb.") else ""
    own = TARGETED.get(module, [])

    def mine(item: pytest.Item) -> bool:
        return any(f"/{name}.py::" in f"/{item.nodeid}" for name in own)

    if own and os.environ.get("MUTATION_TESTS") == "own":
        # Only the module's own test files: bounds what a survivor costs (the whole suite, for config and
        # migrator functions), at the price of survivors that another file would kill: triaged by hand.
        others = [item for item in items if not mine(item)]
        config.hook.pytest_deselected(items=others)
        items[:] = [item for item in items if mine(item)]
    durations: dict[str, float] = {}
    stats = Path("mutmut-stats.json")
    if stats.exists():
        durations = json.loads(stats.read_text()).get("duration_by_test", {})

    def priority(item: pytest.Item) -> tuple[int, float]:
        return (0 if mine(item) else 1, durations.get(item.nodeid, 0.0))

    items.sort(key=priority)


def pytest_sessionfinish(exitstatus: int) -> None:
    global _stats_passed
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        _stats_passed = exitstatus == 0
        shutil.rmtree(os.environ.pop("MUTATION_HITS_DIR", ""), ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        from mutmut.state import state

        for path in Path(os.environ["MUTATION_HITS_DIR"]).glob("*.hits"):
            state()._stats.update(path.read_text().split())
            path.unlink()
        return
    budget = float(os.environ.get("MUTATION_BUDGET_SECONDS", "0"))
    if not (_mutant() and budget):
        return
    if _cpu_seconds() - _started_cpu > budget or time.monotonic() - _started > budget * WALL_PER_CPU_SECOND:
        # mutmut reads exit code 36 as "timeout": undecided within the budget, never counted as killed.
        pytest.exit(f"mutation budget of {budget:g} CPU seconds spent", returncode=36)
