"""Integration layer: three PostgreSQL containers for the session, the app configured against them from YAML.

Every test gets at the databases directly (psycopg), never only through the ORM. Tests that stop or
break a server use their own container or their own fresh databases, so the shared ones stay usable.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.integration.appserver import App, serving
from tests.integration.postgres import (
    SERVICES,
    Server,
    Target,
    create_service_database,
    fresh_targets,
    running_servers,
    write_config,
)
from tests.integration.stack import LeastPrivilege, Stack


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Docker must answer: under CI=true a missing engine fails the run; elsewhere it skips with the reason."""
    try:
        docker.from_env(timeout=10).ping()
    except Exception as error:  # noqa: BLE001 - any failure to reach the engine means "no Docker"
        reason = f"Docker is not usable ({type(error).__name__}: {error}); `make test-integration` installs it"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def servers(docker_engine: None) -> Iterator[dict[str, Server]]:
    """One PostgreSQL container per alias of the topology (main, blog, shop), started concurrently, then removed."""
    with running_servers() as started:
        yield started


@pytest.fixture(scope="session")
def stack(servers: dict[str, Server], tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """The shared databases (one per alias), migrated once with migrate_all as a user would."""
    targets = {alias: Target(servers[service], service) for alias, service in SERVICES.items()}
    config = write_config(tmp_path_factory.mktemp("stack") / "integration.yaml", targets)
    shared = Stack(config, targets)
    migrated = shared.manage("migrate_all")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    return shared


@pytest.fixture(scope="session")
def app(stack: Stack) -> Iterator[App]:
    """gunicorn serving the shared stack."""
    with serving(stack.config) as running:
        yield running


@pytest.fixture
def fresh(servers: dict[str, Server], tmp_path: Path) -> Stack:
    """New empty databases on the shared servers, one per alias, and a config for them; nothing migrated."""
    targets = fresh_targets(servers, "t" + secrets.token_hex(4))
    return Stack(write_config(tmp_path / "fresh.yaml", targets), targets)


@pytest.fixture(scope="session")
def least_privilege(servers: dict[str, Server], tmp_path_factory: pytest.TempPathFactory) -> LeastPrivilege:
    """lp_main, lp_blog and lp_shop, each with an owner and a runtime role, migrated with the owners."""
    roles = {alias: create_service_database(servers[service], f"lp_{service}") for alias, service in SERVICES.items()}
    directory = tmp_path_factory.mktemp("least-privilege")
    owners = {alias: pair.owner for alias, pair in roles.items()}
    runtimes = {alias: pair.runtime for alias, pair in roles.items()}
    owner = Stack(write_config(directory / "owner.yaml", owners), owners)
    runtime = Stack(write_config(directory / "runtime.yaml", runtimes), runtimes)
    migrated = owner.manage("migrate_all")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    return LeastPrivilege(roles, owner, runtime, migrated.stdout)
