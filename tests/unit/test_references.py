"""dbrefs on SQLite: rows whose user is not in default are counted in the right table, read back with sqlite3."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.unit.cli import local_config, manage

USER = (
    "INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff,"
    " is_active, date_joined) VALUES (?, '', 0, ?, '', '', '', 0, 1, '2026-01-01')"
)
POST = "INSERT INTO blog_post (title, content, author_id, created_at) VALUES ('t', '', ?, '2026-01-01')"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    config = local_config(tmp_path)
    migrated = manage("migrate_all", config=config)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        db.execute(USER, [1, "alice"])
    with sqlite3.connect(tmp_path / "blog.sqlite3") as db:
        db.execute(POST, [1])
    return config


def relations(result: str) -> dict[str, dict[str, object]]:
    return {f"{r['table']}.{r['column']}": r for r in json.loads(result)["relations"]}


def test_every_reference_present_exits_0_listing_each_relation(config: Path) -> None:
    result = manage("dbrefs", config=config)

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["table", "column", "alias", "target", "rows", "ids"]
    assert [line.split()[:4] for line in lines[1:4]] == [
        ["blog_comment", "author_id", "blog_db", "auth_user@default"],
        ["blog_post", "author_id", "blog_db", "auth_user@default"],
        ["shop_order", "customer_id", "shop_db", "auth_user@default"],
    ]
    assert len({line.index("auth_user") for line in lines[1:4]}) == 1  # aligned
    assert lines[-1] == "0 dangling row(s) in 3 relation(s) checked"


def test_a_dangling_author_is_counted_in_its_table_and_exits_1(tmp_path: Path, config: Path) -> None:
    with sqlite3.connect(tmp_path / "blog.sqlite3") as db:
        for author in (42, 43, 43):  # two missing users, three rows
            db.execute(POST, [author])

    text = manage("dbrefs", "--batch-size", "1", config=config)  # one id per query: the paging is exercised
    report = manage("dbrefs", "--json", config=config)

    assert text.returncode == 1
    assert "dangling references (blog_post.author_id on blog_db: 3)" in text.stderr
    assert "missing ids: 42, 43" in text.stdout
    assert report.returncode == 1
    counted = relations(report.stdout)
    assert (counted["blog_post.author_id"]["rows"], counted["blog_post.author_id"]["ids"]) == (3, 2)
    assert counted["blog_comment.author_id"]["rows"] == 0 and counted["shop_order.customer_id"]["rows"] == 0
    assert json.loads(report.stdout)["ok"] is False


def test_database_selects_relations_and_unknown_alias_is_a_usage_error(config: Path) -> None:
    shop = manage("dbrefs", "--database", "shop_db", "--json", config=config)
    unknown = manage("dbrefs", "--database", "nope", config=config)

    assert shop.returncode == 0 and list(relations(shop.stdout)) == ["shop_order.customer_id"]
    assert unknown.returncode == 2 and "unknown alias nope" in unknown.stderr


def test_a_lost_table_is_reported_as_an_error_line_and_exits_1(tmp_path: Path, config: Path) -> None:
    with sqlite3.connect(tmp_path / "shop.sqlite3") as db:
        db.execute("DROP TABLE shop_order")

    result = manage("dbrefs", config=config)

    assert result.returncode == 1
    assert "error:" in result.stdout and "shop_order" in result.stdout
    assert "could not check shop_order on shop_db" in result.stderr
