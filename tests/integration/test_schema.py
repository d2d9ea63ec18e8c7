"""Schema truth and cross-database references on PostgreSQL: blog's database recreated empty, rows left dangling."""

from __future__ import annotations

import json

from psycopg import sql

from tests.integration.appserver import serving
from tests.integration.stack import Stack

BLOG_TABLES = {"blog_post", "blog_comment"}


def recreate_empty(stack: Stack, alias: str) -> None:
    """Drop the alias's database and create it again, empty, as a lost volume or a bad restore leaves it."""
    target = stack.targets[alias]
    name = sql.Identifier(target.dbname)
    target.server.query(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(name), dbname="postgres")
    target.server.create_database(target.dbname)


def test_blog_database_recreated_empty_is_not_ready_until_migrate_all_recreates_it(fresh: Stack) -> None:
    assert fresh.manage("migrate_all").returncode == 0
    recreate_empty(fresh, "blog_db")
    assert not BLOG_TABLES & fresh.tables("blog_db")

    health = fresh.manage("dbhealth", "--json")
    check = fresh.manage("migrate_all", "--check")

    assert health.returncode == 1
    body = json.loads(health.stdout)
    assert body["failing"] == ["blog_db"]
    blog = body["databases"]["blog_db"]
    assert (blog["status"], blog["missing_tables"]) == ("schema missing", ["blog_comment", "blog_post"])
    assert check.returncode == 1 and "unapplied migrations on blog_db" in check.stderr
    with serving(fresh.config) as app:
        assert app.get("/readyz")[0] == 503

        result = fresh.manage("migrate_all")

        assert result.returncode == 0, result.stdout + result.stderr
        assert "whose tables were lost" in result.stdout
        assert BLOG_TABLES <= fresh.tables("blog_db")
        assert app.get("/readyz")[0] == 200
    assert fresh.manage("dbhealth").returncode == 0


def test_dbrefs_counts_rows_whose_user_is_missing_from_main(fresh: Stack) -> None:
    assert fresh.manage("migrate_all").returncode == 0
    with fresh.connect("default") as main:
        main.execute(
            "INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff,"
            " is_active, date_joined) VALUES (1, '', false, 'alice', '', '', '', false, true, now())"
        )
    with fresh.connect("blog_db") as blog:
        for author in (1, 2, 2):
            blog.execute(
                "INSERT INTO blog_post (title, content, author_id, created_at) VALUES ('t', '', %s, now())", [author]
            )
    with fresh.connect("shop_db") as shop:
        shop.execute("INSERT INTO shop_order (order_number, customer_id, total, created_at) VALUES ('A', 1, 1, now())")

    result = fresh.manage("dbrefs", "--json")

    assert result.returncode == 1, result.stdout + result.stderr
    counted = {r["table"]: (r["rows"], r["ids"]) for r in json.loads(result.stdout)["relations"]}
    assert counted == {"blog_comment": (0, 0), "blog_post": (2, 1), "shop_order": (0, 0)}
    with fresh.connect("blog_db") as blog:
        blog.execute("DELETE FROM blog_post WHERE author_id = 2")
    assert fresh.manage("dbrefs").returncode == 0
