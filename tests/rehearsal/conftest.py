"""Rehearsal layer: a "staging" of three PostgreSQL containers (Testcontainers) laid out like the Compose stack,
migrated with release v1 and seeded; tests rehearse other releases against it with `rehearse_migrations`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

# The integration layer's fixture, so the rule is the same: under CI=true a missing Docker fails, elsewhere it skips.
from tests.integration.conftest import docker_engine  # noqa: F401
from tests.integration.postgres import running_servers
from tests.rehearsal.staging import Staging, build, seed


@pytest.fixture(scope="session")
def staging(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Staging]:
    """main, blog and shop with owner, runtime and rehearsal reader roles; release v1 applied; rows in every app."""
    request.getfixturevalue("docker_engine")
    with running_servers() as servers:
        environment = build(servers, tmp_path_factory.mktemp("staging"))
        seed(environment.runtime.targets)
        yield environment
