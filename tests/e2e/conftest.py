"""The e2e layer's shared Compose stack: one `make up` for test_stack.py and, last, test_add_database.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.test_stack import Stack, running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Session-wide so test_add_database.py can add its database to this running stack instead of starting one
    of its own (a whole `make up` less in CI); test_replica_profile.py has a stack of its own."""
    with running_stack(tmp_path_factory) as started:
        yield started
