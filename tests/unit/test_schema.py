"""Schema truth on SQLite: a database that lost its tables is not taken as migrated because its history says so."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.unit.cli import local_config, manage
from tests.unit.test_health import get, server_for
from tests.unit.test_migrate_all import BLOG_TABLES, SHOP_TABLES, tables


@pytest.fixture
def config(tmp_path: Path) -> Path:
    config = local_config(tmp_path)
    migrated = manage("migrate_all", config=config)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    return config


def drop(path: Path, *names: str) -> None:
    with sqlite3.connect(path) as db:
        for name in names:
            db.execute(f"DROP TABLE {name}")


def history(tmp_path: Path, alias: str) -> set[tuple[str, str]]:
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        rows = db.execute("SELECT app, name FROM multidb_migration_history WHERE database = ?", [alias])
        return set(rows)


def test_blog_file_deleted_is_not_ready_then_migrate_all_recreates_it(tmp_path: Path, config: Path) -> None:
    (tmp_path / "blog.sqlite3").unlink()  # blog's history lives in default and still says "applied"

    health = manage("dbhealth", config=config)
    check = manage("migrate_all", "--check", config=config)
    assert health.returncode == 1 and "not ready: blog_db" in health.stderr
    assert check.returncode == 1 and "unapplied migrations on blog_db" in check.stderr
    assert not (tmp_path / "blog.sqlite3").exists()  # --check and dbhealth change nothing

    result = manage("migrate_all", config=config)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "blog_db  ok      1 applied" in result.stdout and "whose tables were lost" in result.stdout
    assert BLOG_TABLES <= tables(tmp_path / "blog.sqlite3")
    assert manage("dbhealth", config=config).returncode == 0
    with server_for(config) as base:
        assert get(base + "/readyz")[0] == 200


def test_blog_tables_dropped_is_schema_missing_then_migrate_all_converges(tmp_path: Path, config: Path) -> None:
    drop(tmp_path / "blog.sqlite3", "blog_comment", "blog_post")
    with server_for(config) as base:
        status, body = get(base + "/readyz")
        assert status == 503 and body["failing"] == ["blog_db"]
        blog = body["databases"]["blog_db"]
        assert (blog["status"], blog["missing_tables"]) == ("schema missing", ["blog_comment", "blog_post"])

        health = manage("dbhealth", config=config)
        assert health.returncode == 1
        assert "blog_db  schema missing: 2 table(s) its history records as created do not exist" in health.stdout

        result = manage("migrate_all", config=config)
        assert result.returncode == 0, result.stdout + result.stderr
        assert BLOG_TABLES <= tables(tmp_path / "blog.sqlite3")
        assert ("blog", "0001_initial") in history(tmp_path, "blog_db")
        assert get(base + "/readyz")[0] == 200
    again = manage("migrate_all", config=config)
    assert "blog_db  ok      nothing to apply" in again.stdout


def test_an_alias_keeping_its_own_history_converges_too(tmp_path: Path, config: Path) -> None:
    drop(tmp_path / "shop.sqlite3", "shop_order", "shop_product")  # django_migrations stays

    health = manage("dbhealth", config=config)
    assert health.returncode == 1
    # The line names how many tables and which, and the fix (no server here, so mutation runs see it too).
    assert (
        "shop_db  schema missing: 2 table(s) its history records as created do not exist"
        " (shop_order, shop_product); run migrate_all"
    ) in health.stdout
    lost = (
        "  shop_db: its history records 1 migration(s) as applied, but 2 of their 2 table(s) do not exist"
        " (shop_order, shop_product); "
    )
    planned = manage("migrate_all", "--plan", config=config)
    assert f"{lost}would re-apply them\n" in planned.stdout, planned.stdout
    assert "shop_db  would apply 1: shop.0001_initial (re-creating 1 whose tables were lost)" in planned.stdout
    assert not SHOP_TABLES & tables(tmp_path / "shop.sqlite3")  # --plan changed nothing
    result = manage("migrate_all", config=config)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{lost}re-applying them\n" in result.stdout, result.stdout
    assert "shop_db  ok      1 applied (re-created 1 whose tables were lost)" in result.stdout
    assert SHOP_TABLES <= tables(tmp_path / "shop.sqlite3")
    with sqlite3.connect(tmp_path / "shop.sqlite3") as db:  # the stale record was replaced, not duplicated
        rows = db.execute("SELECT name FROM django_migrations WHERE app = 'shop'").fetchall()
    assert rows == [("0001_initial",)]
    assert manage("dbhealth", config=config).returncode == 0


def test_partial_loss_fails_naming_the_alias_and_the_fix_and_drops_nothing(tmp_path: Path, config: Path) -> None:
    with sqlite3.connect(tmp_path / "blog.sqlite3") as db:
        db.execute("INSERT INTO blog_post (title, content, author_id, created_at) VALUES ('kept', '', 1, '2026-01-01')")
    drop(tmp_path / "blog.sqlite3", "blog_comment")
    before = history(tmp_path, "blog_db")

    health = manage("dbhealth", "--json", config=config)
    result = manage("migrate_all", config=config)

    blog = json.loads(health.stdout)["databases"]["blog_db"]
    assert (blog["status"], blog["missing_tables"]) == ("schema missing", ["blog_comment"])
    assert isinstance(blog["latency_ms"], float) and blog["latency_ms"] > 0, blog  # it answered: how fast
    assert result.returncode == 1 and "migrate_all failed on blog_db" in result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("blog_db "))
    assert "1 of their 2 table(s) do not exist (blog_comment)" in line
    assert "restore blog_db from a backup" in line and "drop its remaining table(s) (blog_post)" in line
    assert "shop_db  ok" in result.stdout  # the others still ran
    assert history(tmp_path, "blog_db") == before
    with sqlite3.connect(tmp_path / "blog.sqlite3") as db:
        assert db.execute("SELECT title FROM blog_post").fetchall() == [("kept",)]
    # The fix it names works: drop what remains, and migrate_all re-creates the whole schema.
    drop(tmp_path / "blog.sqlite3", "blog_post")
    assert manage("migrate_all", config=config).returncode == 0
    assert manage("dbhealth", config=config).returncode == 0
