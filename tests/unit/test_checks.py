"""System checks run by `manage.py check`: the guide's cross-database FK failure, caught before migrating."""

from __future__ import annotations

from pathlib import Path

from tests.unit.cli import LOCAL_CONFIG, Result, local_config, manage


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


def check_with_config(tmp_path: Path, extra: str, apps: str = "") -> Result:
    """`manage.py check` on the local config plus `extra` YAML, with fixture apps `apps` installed."""
    env = {"DJANGO_SETTINGS_MODULE": "tests.unit.fixture_settings", "TEST_EXTRA_APPS": apps}
    return manage("check", config=local_config(tmp_path, LOCAL_CONFIG + extra), env=env)


def test_relation_across_databases_fails_check_when_cross_database_relations_is_false(tmp_path: Path) -> None:
    result = check_with_config(tmp_path, "routing:\n  cross_database_relations: false\n")
    assert result.returncode == 1
    assert "multidb.E002" in result.stderr
    # blog.Post.author points at auth.User: blog_db -> default.
    assert "blog.Post.author relates blog_db to default" in result.stderr
    assert "HINT: Home both models on one alias, or set routing.cross_database_relations: true." in result.stderr


def test_app_label_unknown_to_the_registry_fails_check(tmp_path: Path) -> None:
    result = check_with_config(tmp_path, "", apps="tests.unit.fixture_apps.relabel.apps.RelabelConfig")
    assert result.returncode == 1
    assert "multidb.E003" in result.stderr and "app label 'relabel'" in result.stderr
    assert "HINT: An AppConfig sets a custom label: list that label under the alias's apps" in result.stderr


def test_sharded_model_without_the_key_field_fails_check(tmp_path: Path) -> None:
    # sessions is homed nowhere else, so the group is valid config; its Session model has no tenant_id.
    shards = "shards:\n  by_tenant:\n    aliases: [default]\n    apps: [sessions]\n    key: tenant_id\n"
    result = check_with_config(tmp_path, shards)
    assert result.returncode == 1
    assert "multidb.E005" in result.stderr
    assert "sessions.Session is in shard group 'by_tenant' but has no field tenant_id" in result.stderr
    assert "HINT: Add tenant_id to sessions.Session, or move its app out of shards.by_tenant.apps." in result.stderr
