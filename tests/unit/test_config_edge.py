"""The `security` block and per-alias `timeouts`: defaults by environment, Django settings, the topology export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings

from multidb.config import ProjectConfig
from multidb.topology import load_topology
from tests.unit.cli import REPO, manage

SQLITE = {"default": {"engine": "sqlite3", "name": "db.sqlite3"}}


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_security_is_strict_by_default_on_real_hosts(environment: str) -> None:
    config = ProjectConfig.model_validate({"environment": environment, "databases": SQLITE})

    derived = config.effective_security.django_settings()

    assert derived["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert derived["SESSION_COOKIE_SECURE"] and derived["CSRF_COOKIE_SECURE"] and derived["SECURE_SSL_REDIRECT"]
    assert derived["SECURE_HSTS_SECONDS"] == 31_536_000 and derived["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert derived["SECURE_REDIRECT_EXEMPT"] == [r"^healthz$", r"^readyz$"]


@pytest.mark.parametrize("environment", ["local", "development", "test"])
def test_security_is_off_by_default_elsewhere(environment: str) -> None:
    config = ProjectConfig.model_validate({"environment": environment, "databases": SQLITE})

    derived = config.effective_security.django_settings()

    assert derived["SECURE_PROXY_SSL_HEADER"] is None
    assert not (derived["SESSION_COOKIE_SECURE"] or derived["SECURE_SSL_REDIRECT"] or derived["SECURE_HSTS_SECONDS"])


def test_an_explicit_key_wins_over_the_environment_default() -> None:
    config = ProjectConfig.model_validate(
        {"environment": "production", "databases": SQLITE, "security": {"hsts_seconds": 0, "ssl_redirect": False}}
    )

    derived = config.effective_security.django_settings()

    assert (derived["SECURE_HSTS_SECONDS"], derived["SECURE_SSL_REDIRECT"]) == (0, False)
    assert not derived["SECURE_HSTS_INCLUDE_SUBDOMAINS"]  # meaningless without HSTS, so not sent
    assert derived["SESSION_COOKIE_SECURE"]  # untouched keys keep the strict default


def test_compose_trusts_the_proxy_origins_without_pinning_browsers_to_https() -> None:
    security = load_topology(REPO / "config" / "compose.yaml", settings.INSTALLED_APPS).config.effective_security

    assert security.csrf_trusted_origins == ("https://127.0.0.1:8443", "https://localhost:8443")
    assert security.behind_proxy and security.secure_cookies and security.ssl_redirect
    assert security.hsts_seconds == 0


@pytest.mark.parametrize("path", sorted((REPO / "config").glob("*.yaml")), ids=lambda path: path.name)
def test_every_shipped_postgresql_config_reuses_connections_with_health_checks(path: Path) -> None:
    for alias, db in load_topology(path, settings.INSTALLED_APPS).databases.items():
        if db.short_engine == "postgresql":
            assert (db.conn_max_age, db.conn_health_checks) == (60, True), f"{path.name}: databases.{alias}"


def test_topology_exports_each_alias_s_timeouts_with_defaults(tmp_path: Path) -> None:
    text = (REPO / "config" / "compose.yaml").read_text()
    config = tmp_path / "compose.yaml"
    config.write_text(text.replace("    apps: [shop]\n", "    apps: [shop]\n    timeouts: {migration_lock: 1500}\n"))

    exported = load_topology(config, settings.INSTALLED_APPS).export()

    assert exported["shop_db"]["timeouts"] == {
        "statement": 30000,
        "idle_in_transaction": 60000,
        "migration_lock": 1500,
        "migration_lock_retries": 3,
    }
    assert exported["default"]["timeouts"]["migration_lock"] == 5000
    assert "password" not in exported["default"] and "user" not in exported["default"]


def test_dbtopology_prints_the_export_as_json_without_secrets(tmp_path: Path) -> None:
    local = tmp_path / "local.yaml"
    local.write_text((REPO / "config" / "local.yaml").read_text().replace("data/", f"{tmp_path}/"))

    result = manage(
        "dbtopology", "--config", str(REPO / "config" / "production.yaml"), "--format", "json", config=local
    )

    assert result.returncode == 0, result.stderr
    exported = json.loads(result.stdout)
    assert exported["blog_db"]["host"] == "${BLOG_DB_HOST}"
    assert exported["blog_db"]["timeouts"]["statement"] == 30000
    assert "placeholder" not in result.stdout
