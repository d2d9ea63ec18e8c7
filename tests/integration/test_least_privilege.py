"""Least privilege as the stack deploys it: owners migrate, runtime roles only touch rows, no role crosses over."""

from __future__ import annotations

import secrets

import psycopg
import pytest
from psycopg import errors, sql

from tests.integration.appserver import orm, serving
from tests.integration.postgres import SERVICES
from tests.integration.stack import LeastPrivilege

ALIASES = tuple(SERVICES)
OWN_TABLE = {"default": "auth_user", "blog_db": "blog_post", "shop_db": "shop_product"}


def test_app_works_with_the_runtime_roles(least_privilege: LeastPrivilege) -> None:
    runtime = least_privilege.runtime
    mark = "lp" + secrets.token_hex(6)
    orm(
        # A superuser: creating a product needs shop.add_product (issue 13).
        "from django.contrib.auth.models import User; "
        f"User.objects.create_superuser('{mark}', password='pw'); print(1)",
        config=runtime.config,
    )

    with serving(runtime.config) as app:
        ready = app.get("/readyz")
        created = [
            app.post("/api/posts/", {"title": mark, "content": "x"}, (mark, "pw")),
            app.post("/api/products/", {"name": mark, "price": "1.00", "stock": 2}, (mark, "pw")),
            app.post("/api/orders/", {"order_number": mark, "total": "1.00"}, (mark, "pw")),
        ]

    assert ready[0] == 200, ready  # readiness reads both histories with the runtime roles
    assert [status for status, _ in created] == [201, 201, 201], created
    owner = least_privilege.owner  # read back as the owners, straight from each database
    assert owner.rows("blog_db", "SELECT count(*) FROM blog_post WHERE title = %s", [mark]) == [(1,)]
    assert owner.rows("shop_db", "SELECT count(*) FROM shop_order WHERE order_number = %s", [mark]) == [(1,)]
    assert owner.rows("default", "SELECT count(*) FROM auth_user WHERE username = %s", [mark]) == [(1,)]


@pytest.mark.parametrize("alias", ALIASES)
@pytest.mark.parametrize(
    "ddl",
    [
        "CREATE TABLE intruder (id integer)",
        "ALTER TABLE {table} ADD COLUMN intruder integer",
        "DROP TABLE {table}",
        "CREATE INDEX intruder ON {table} (id)",
    ],
)
def test_runtime_role_cannot_change_the_schema(least_privilege: LeastPrivilege, alias: str, ddl: str) -> None:
    with least_privilege.runtime.connect(alias) as connection:
        table = sql.Identifier(OWN_TABLE[alias])
        connection.execute(sql.SQL("SELECT count(*) FROM {}").format(table))  # it can read its own rows
        with pytest.raises(errors.InsufficientPrivilege):
            connection.execute(sql.SQL(ddl).format(table=table))


def test_runtime_role_can_read_and_write_rows(least_privilege: LeastPrivilege) -> None:
    with least_privilege.runtime.connect("shop_db") as connection:
        connection.execute("INSERT INTO shop_product (name, price, stock) VALUES ('lp-row', 1, 1)")
        connection.execute("UPDATE shop_product SET stock = 2 WHERE name = 'lp-row'")
        assert connection.execute("SELECT stock FROM shop_product WHERE name = 'lp-row'").fetchall() == [(2,)]
        connection.execute("DELETE FROM shop_product WHERE name = 'lp-row'")


def test_a_service_role_cannot_connect_to_another_services_database(least_privilege: LeastPrivilege) -> None:
    blog_runtime = least_privilege.roles["blog_db"].runtime
    shop = least_privilege.roles["shop_db"].owner

    # The stack's layout: shop's server does not know blog's role at all.
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        shop.server.connect(shop.dbname, blog_runtime.user, blog_runtime.password)

    # One server for several services (a managed instance): the role exists there, but REVOKE CONNECT
    # FROM PUBLIC keeps it out of shop's database.
    shop.server.query(
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(blog_runtime.user), sql.Literal(blog_runtime.password)
        )
    )
    try:
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            shop.server.connect(shop.dbname, blog_runtime.user, blog_runtime.password)
        # ... while shop's own runtime role gets in.
        least_privilege.roles["shop_db"].runtime.connect().close()
    finally:
        shop.server.query(sql.SQL("DROP ROLE {}").format(sql.Identifier(blog_runtime.user)))
