"""Users' own tests on several databases: Django's runner and pytest-django against this PostgreSQL setup.

Both create test_<name> databases and migrate them with the plain `migrate` command, which this project
routes like migrate_all (blog_db's history in default). The role in the config needs CREATEDB for that.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from psycopg import sql

from tests.integration.appserver import REPO
from tests.integration.stack import LeastPrivilege, Stack

TESTCASE = "tests.integration.multidb_testcase"


def run_pytest_django(stack: Stack) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "DJANGO_SETTINGS", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/integration/multidb_testcase.py"],
        cwd=REPO,
        env={**environ, "APP_CONFIG": str(stack.config)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_manage_py_test_runs_a_testcase_on_all_three_databases(stack: Stack) -> None:
    result = stack.manage("test", TESTCASE, "--noinput")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Ran 4 tests" in result.stderr and "\nOK" in result.stderr
    for alias, name in [("default", "test_main"), ("blog_db", "test_blog"), ("shop_db", "test_shop")]:
        assert f"Creating test database for alias '{alias}'" in result.stderr
        assert stack.targets[alias].server.query("SELECT 1 FROM pg_database WHERE datname = %s", [name]) == []


def test_pytest_django_runs_the_same_testcase(stack: Stack) -> None:
    result = run_pytest_django(stack)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


@contextmanager
def granted(least_privilege: LeastPrivilege, *grants: str) -> Iterator[None]:
    """Give every owner role `grants` (CREATEDB, CONNECT_POSTGRES) for a while; the stack grants neither."""
    statements = {
        "CREATEDB": ("ALTER ROLE {} CREATEDB", "ALTER ROLE {} NOCREATEDB"),
        "CONNECT_POSTGRES": ("GRANT CONNECT ON DATABASE postgres TO {}", "REVOKE CONNECT ON DATABASE postgres FROM {}"),
    }
    owners = [(pair.owner.server, sql.Identifier(pair.owner.user)) for pair in least_privilege.roles.values()]
    for server, role in owners:
        for grant in grants:
            server.query(sql.SQL(statements[grant][0]).format(role))
    try:
        yield
    finally:
        for server, role in owners:
            for grant in grants:
                server.query(sql.SQL(statements[grant][1]).format(role))


def test_the_owner_roles_cannot_create_test_databases(least_privilege: LeastPrivilege) -> None:
    result = least_privilege.owner.manage("test", TESTCASE, "--noinput")

    assert result.returncode != 0
    assert "permission denied to create database" in result.stderr


def test_createdb_alone_fails_when_the_postgres_database_is_closed(least_privilege: LeastPrivilege) -> None:
    # Django then falls back to "the first PostgreSQL database" by name: default's test database,
    # looked for on blog's server. Pinned here so the README's advice changes when Django's behaviour does.
    with granted(least_privilege, "CREATEDB"):
        result = least_privilege.owner.manage("test", TESTCASE, "--noinput")

    assert result.returncode != 0
    assert 'database "test_lp_main" does not exist' in result.stderr


def test_the_owner_roles_with_createdb_and_the_postgres_database_run_the_testcase(
    least_privilege: LeastPrivilege,
) -> None:
    with granted(least_privilege, "CREATEDB", "CONNECT_POSTGRES"):
        result = least_privilege.owner.manage("test", TESTCASE, "--noinput")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Ran 4 tests" in result.stderr
