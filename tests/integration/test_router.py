"""Routing on PostgreSQL: rows written through the ORM or the API land in their app's database and no other."""

from __future__ import annotations

import secrets

import pytest
from psycopg import sql

from tests.integration.appserver import App, orm
from tests.integration.stack import Stack

ALIASES = ("default", "blog_db", "shop_db")
# Where each model's rows must be, and nowhere else.
HOMES = {"default": {"auth_user"}, "blog_db": {"blog_post", "blog_comment"}, "shop_db": {"shop_product", "shop_order"}}

WRITE_EVERY_MODEL = """
import json
from decimal import Decimal
from django.contrib.auth.models import User
from apps.blog.models import Comment, Post
from apps.shop.models import Order, Product
user = User.objects.create(username="{mark}")
post = Post.objects.create(title="{mark}", content="x", author=user)
comment = Comment.objects.create(post=post, author=user, content="{mark}")
product = Product.objects.create(name="{mark}", price=Decimal("9.50"), stock=3)
order = Order.objects.create(order_number="{mark}", customer=user, total=Decimal("9.50"))
print(json.dumps({{"user": user.pk, "post": post.pk, "comment": comment.pk, "product": product.pk, "order": order.pk}}))
"""

FOLLOW_RELATIONS = """
import json
from django.contrib.auth.models import User
from apps.blog.models import Post
from apps.shop.models import Order
user = User.objects.get(username="{mark}")
print(json.dumps({{
    "post.author": Post.objects.get(title="{mark}").author.username,
    "user.blog_posts": [post.title for post in user.blog_posts.all()],
    "user.blog_comments": [comment.content for comment in user.blog_comments.all()],
    "order.customer": Order.objects.get(order_number="{mark}").customer.username,
    "user.orders": [order.order_number for order in user.orders.all()],
}}))
"""


def unique_mark() -> str:
    return "m" + secrets.token_hex(8)


def tables_containing(stack: Stack, alias: str, mark: str) -> set[str]:
    """Every table of the alias's database with a row whose text contains `mark`, found by psycopg alone."""
    found = set()
    with stack.connect(alias) as connection:
        names = [row[0] for row in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for name in names:
            query = sql.SQL("SELECT count(*) FROM {} AS r WHERE r::text LIKE %s").format(sql.Identifier(name))
            if connection.execute(query, [f"%{mark}%"]).fetchone()[0]:  # type: ignore[index]
                found.add(name)
    return found


def test_orm_writes_land_in_their_home_database_only(stack: Stack) -> None:
    mark = unique_mark()

    ids = orm(WRITE_EVERY_MODEL.format(mark=mark), config=stack.config)

    assert {alias: tables_containing(stack, alias, mark) for alias in ALIASES} == HOMES
    # The rows are the ones the ORM reported, with the cross-database ids as plain columns.
    assert stack.rows("blog_db", "SELECT id, author_id FROM blog_post WHERE title = %s", [mark]) == [
        (ids["post"], ids["user"])
    ]
    assert stack.rows("shop_db", "SELECT id, customer_id FROM shop_order WHERE order_number = %s", [mark]) == [
        (ids["order"], ids["user"])
    ]
    assert stack.rows("default", "SELECT id FROM auth_user WHERE username = %s", [mark]) == [(ids["user"],)]


def test_api_writes_land_in_their_home_database_only(stack: Stack, app: App) -> None:
    mark = unique_mark()
    orm(
        # A superuser: creating a product needs shop.add_product (issue 13).
        f"from django.contrib.auth.models import User; User.objects.create_superuser('{mark}', password='pw-{mark}'); "
        "print('{}')",
        config=stack.config,
    )
    auth = (mark, f"pw-{mark}")

    created = [
        app.post("/api/posts/", {"title": mark, "content": "over HTTP"}, auth),
        app.post("/api/products/", {"name": mark, "price": "2.50", "stock": 1}, auth),
        app.post("/api/orders/", {"order_number": mark, "total": "2.50"}, auth),
    ]

    assert [status for status, _ in created] == [201, 201, 201], created
    expected = {"default": {"auth_user"}, "blog_db": {"blog_post"}, "shop_db": {"shop_product", "shop_order"}}
    assert {alias: tables_containing(stack, alias, mark) for alias in ALIASES} == expected
    status, listing = app.get("/api/posts/", auth)
    assert status == 200 and any(post["title"] == mark and post["author"] == mark for post in listing["results"])


def test_relations_across_databases_work_both_ways(stack: Stack) -> None:
    mark = unique_mark()
    orm(WRITE_EVERY_MODEL.format(mark=mark), config=stack.config)

    followed = orm(FOLLOW_RELATIONS.format(mark=mark), config=stack.config)

    assert followed == {
        "post.author": mark,
        "user.blog_posts": [mark],
        "user.blog_comments": [mark],
        "order.customer": mark,
        "user.orders": [mark],
    }


@pytest.mark.parametrize("alias", ALIASES)
def test_no_foreign_key_constraint_points_at_another_databases_table(stack: Stack, alias: str) -> None:
    constraints = stack.rows(
        alias,
        """SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text
           FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
           WHERE c.contype = 'f'""",
    )
    own = {"default": ("auth_", "django_"), "blog_db": ("blog_",), "shop_db": ("shop_",)}[alias]

    assert all(table.startswith(own) and target.startswith(own) for table, _, target in constraints), constraints
    columns = {(table, column) for table, column, _ in constraints}
    # The user references (users live in default) are plain columns; comment -> post is a real FK.
    assert not columns & {("blog_post", "author_id"), ("blog_comment", "author_id"), ("shop_order", "customer_id")}
    if alias == "blog_db":
        assert ("blog_comment", "post_id") in columns
