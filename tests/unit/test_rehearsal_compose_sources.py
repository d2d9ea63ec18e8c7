"""`make rehearse ENV=compose` reads the databases it points at the stack from the config, not from a list."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.cli import REPO, Result

COMPOSE_CONFIG = (REPO / "config" / "compose.yaml").read_text()
SHIPPED = [
    "default db-main MAIN_DB_HOST MAIN_DB_USER MAIN_DB_PASSWORD",
    "blog_db db-blog BLOG_DB_HOST BLOG_DB_USER BLOG_DB_PASSWORD",
    "shop_db db-shop SHOP_DB_HOST SHOP_DB_USER SHOP_DB_PASSWORD",
]
ANALYTICS = """
  analytics:
    engine: postgresql
    name: analytics
    user: ${ANALYTICS_DB_USER}
    password: ${ANALYTICS_DB_PASSWORD}
    host: ${ANALYTICS_DB_HOST:-db-analytics}
    operations: [read, write, migrate]
"""
BLOG_REPLICA = """
  blog_replica:
    engine: postgresql
    name: blog
    user: ${BLOG_REPLICA_USER}
    password: ${BLOG_REPLICA_PASSWORD}
    host: ${BLOG_REPLICA_HOST:-db-blog-replica}
    apps: [blog]
    operations: [read]
"""


def compose_sources(env: dict[str, str]) -> Result:
    """`python -m multidb.rehearsal.compose_sources` as scripts/rehearse-compose.sh runs it."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "DJANGO_SETTINGS"))}
    environ.update(PYTHONPATH=str(REPO / "app"), **env)
    done = subprocess.run(
        [sys.executable, "-m", "multidb.rehearsal.compose_sources"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def test_shipped_compose_config_lists_its_three_databases_with_service_and_variables() -> None:
    listed = compose_sources({"APP_ENV": "compose"})
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == SHIPPED


def test_listing_ignores_values_the_environment_already_holds() -> None:
    """A host exported by hand, or a real password, must not hide which variable the config reads."""
    env = {"APP_ENV": "compose", "MAIN_DB_HOST": "10.0.0.9", "MAIN_DB_PASSWORD": "a-real-secret-value-0123456789"}
    listed = compose_sources(env)
    assert listed.stdout.splitlines() == SHIPPED
    assert "a-real-secret" not in listed.stdout + listed.stderr


def test_a_fourth_database_in_the_config_is_a_fourth_source_and_a_replica_is_none(tmp_path: Path) -> None:
    config = tmp_path / "compose.yaml"
    config.write_text(COMPOSE_CONFIG + ANALYTICS + BLOG_REPLICA)
    listed = compose_sources({"APP_CONFIG": str(config)})
    assert listed.returncode == 0, listed.stderr
    expected = [*SHIPPED, "analytics db-analytics ANALYTICS_DB_HOST ANALYTICS_DB_USER ANALYTICS_DB_PASSWORD"]
    assert listed.stdout.splitlines() == expected


@pytest.mark.parametrize("host", ["db-shop", "${SHOP_HOST:-db-shop}", "${SHOP_DB_HOST}"])
def test_a_host_the_rehearsal_cannot_point_exits_2_naming_file_and_key(tmp_path: Path, host: str) -> None:
    """A literal host, another variable than SHOP_DB_HOST, or no Compose service as its default."""
    config = tmp_path / "compose.yaml"
    config.write_text(COMPOSE_CONFIG.replace("${SHOP_DB_HOST:-db-shop}", host))
    listed = compose_sources({"APP_CONFIG": str(config)})
    assert listed.returncode == 2
    assert listed.stdout == ""
    [line] = listed.stderr.splitlines()
    assert f"{config}: databases.shop_db.host: is not ${{<PREFIX>_HOST:-<service>}}" in line
    assert "Traceback" not in listed.stderr
