"""System checks run by `manage.py check`: the guide's cross-database FK failure, caught before migrating."""

from __future__ import annotations

from pathlib import Path

from tests.unit.cli import Result, local_config, manage


def check_with_crossfk_app(tmp_path: Path) -> Result:
    """`manage.py check` with a fixture app whose FK to blog.Post is constrained and cascades."""
    fixture_app = {
        "DJANGO_SETTINGS_MODULE": "tests.unit.fixture_settings",
        "TEST_EXTRA_APPS": "tests.unit.fixture_apps.crossfk",
    }
    return manage("check", config=local_config(tmp_path), env=fixture_app)


def test_constrained_cross_database_fk_fails_check_with_id_and_hint(tmp_path: Path) -> None:
    result = check_with_crossfk_app(tmp_path)
    assert result.returncode == 1
    assert "multidb.E001" in result.stderr
    assert "crossfk.Bookmark.post" in result.stderr and "blog_db" in result.stderr
    assert "HINT: Add db_constraint=False to crossfk.Bookmark.post." in result.stderr


def test_shipped_models_pass_check(tmp_path: Path) -> None:
    result = manage("check", config=local_config(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_cross_database_cascade_fails_check(tmp_path: Path) -> None:
    result = check_with_crossfk_app(tmp_path)
    assert result.returncode == 1
    assert "multidb.E004" in result.stderr and "on_delete=CASCADE" in result.stderr
