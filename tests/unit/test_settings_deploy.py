"""The shipped staging and production configs pass Django's deployment checks, warnings included."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.unit.cli import REPO, manage


def _environment() -> dict[str, str]:
    """What an operator's environment holds: real-looking secrets and hosts for every ${VAR} the configs name."""
    env = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "APP_HOSTNAME": "www.example.org"}
    for prefix in ("MAIN", "BLOG", "SHOP"):
        env |= {
            f"{prefix}_DB_USER": f"{prefix.lower()}_app",
            f"{prefix}_DB_PASSWORD": secrets.token_urlsafe(24),
            f"{prefix}_DB_HOST": f"db-{prefix.lower()}.internal",
        }
    return env


@pytest.mark.parametrize("name", ["production", "staging"])
def test_deploy_check_passes_with_warnings_as_failures(name: str) -> None:
    config = REPO / "config" / f"{name}.yaml"

    result = manage("check", "--deploy", "--fail-level", "WARNING", config=config, env=_environment())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_placeholder_secret_key_is_refused_outside_development(tmp_path: Path) -> None:
    """The vault example's key (it contains CHANGE-ME and is long enough) no longer passes."""
    env = _environment() | {"DJANGO_SECRET_KEY": "CHANGE-ME-django-secret-key-at-least-32-characters"}

    result = manage("check", config=REPO / "config" / "production.yaml", env=env)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "production.yaml: secret_key: is missing, a placeholder" in result.stderr
    assert "CHANGE-ME-django" not in result.stderr + result.stdout


@pytest.mark.parametrize("value", ["change-me", "CHANGE-ME-please", "prod-Change-Me-2024"])
def test_a_password_containing_change_me_is_refused(value: str) -> None:
    env = _environment() | {"SHOP_DB_PASSWORD": value}

    result = manage("check", config=REPO / "config" / "staging.yaml", env=env)

    assert result.returncode == 2
    line = result.stderr.strip()
    assert "staging.yaml: databases.shop_db.password: is empty or a placeholder" in line, line
    assert value not in line and len(line.splitlines()) == 1
