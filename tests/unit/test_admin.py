"""The admin works across databases without .using(): pages render and saved rows land in their app's database."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client

from apps.blog.models import Comment, Post
from apps.shop.models import Order, Product

pytestmark = pytest.mark.django_db(databases=["default", "blog_db", "shop_db"])

MODELS = ["blog/post", "blog/comment", "shop/product", "shop/order"]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # The default hasher costs ~0.2 s per login; these tests check routing and pages, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sample(admin_user: User) -> dict[str, Any]:
    """One row of each model, so changelists render their user and post columns."""
    post = Post.objects.create(title="Hello", content="c", author=admin_user)
    comment = Comment.objects.create(post=post, author=admin_user, content="nice")
    product = Product.objects.create(name="Mug", price=Decimal("9.50"), stock=3)
    order = Order.objects.create(order_number="A-1", customer=admin_user, total=Decimal("5"))
    return {"blog/post": post, "blog/comment": comment, "shop/product": product, "shop/order": order}


def table_ids(alias: str, table: str) -> list[int] | None:
    """The table's ids read with raw SQL on one alias, or None when the table does not exist there."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        if table not in connection.introspection.table_names(cursor):
            return None
        cursor.execute(f"SELECT id FROM {table}")  # noqa: S608 - table names are test constants
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("page", ["", "add/", "?q=Hello", "?o=2"])
def test_changelist_and_add_pages_render_for_a_superuser(
    admin_client: Client, sample: dict[str, Any], model: str, page: str
) -> None:
    response = admin_client.get(f"/admin/{model}/{page}")

    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_change_page_renders_with_the_user_from_default(
    admin_client: Client, sample: dict[str, Any], model: str
) -> None:
    response = admin_client.get(f"/admin/{model}/{sample[model].pk}/change/")

    assert response.status_code == 200


def test_post_added_through_admin_is_stored_in_blog_db_only(admin_client: Client, admin_user: User) -> None:
    response = admin_client.post(
        "/admin/blog/post/add/", {"title": "From admin", "content": "c", "author": admin_user.pk}
    )

    assert response.status_code == 302, response.context["adminform"].errors
    post = Post.objects.get(title="From admin")
    assert table_ids("blog_db", "blog_post") == [post.pk]
    assert table_ids("default", "blog_post") is None
    assert table_ids("shop_db", "blog_post") is None


def test_order_added_through_admin_is_stored_in_shop_db_only(admin_client: Client, admin_user: User) -> None:
    response = admin_client.post(
        "/admin/shop/order/add/", {"order_number": "B-1", "customer": admin_user.pk, "total": "3.00"}
    )

    assert response.status_code == 302, response.context["adminform"].errors
    order = Order.objects.get(order_number="B-1")
    assert order.customer == admin_user
    assert table_ids("shop_db", "shop_order") == [order.pk]
    assert table_ids("default", "shop_order") is None


def test_admin_rejects_an_author_missing_from_the_user_database(admin_client: Client) -> None:
    response = admin_client.post("/admin/blog/post/add/", {"title": "t", "content": "c", "author": 999})

    assert response.status_code == 200
    assert "author" in response.context["adminform"].errors
    assert Post.objects.count() == 0


def test_post_changed_and_deleted_through_admin(admin_client: Client, sample: dict[str, Any]) -> None:
    post = sample["blog/post"]

    changed = admin_client.post(
        f"/admin/blog/post/{post.pk}/change/", {"title": "Renamed", "content": "c", "author": post.author_id}
    )
    deleted = admin_client.post(f"/admin/blog/post/{post.pk}/delete/", {"post": "yes"})

    assert changed.status_code == 302 and deleted.status_code == 302
    assert table_ids("blog_db", "blog_post") == []
    assert table_ids("blog_db", "blog_comment") == []  # the comment cascaded within blog_db


def rows(alias: str, sql: str) -> list[tuple[Any, ...]]:
    """Raw rows from one alias's database, bypassing the ORM and the router."""
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]


@pytest.mark.parametrize("model", MODELS)
def test_changelist_lists_the_object_and_its_user(
    admin_client: Client, admin_user: User, sample: dict[str, Any], model: str
) -> None:
    response = admin_client.get(f"/admin/{model}/")

    listed = response.context["cl"].result_list
    assert [obj.pk for obj in listed] == [sample[model].pk]
    page = response.content.decode()
    assert f"/admin/{model}/{sample[model].pk}/change/" in page
    assert str(sample[model]) in page
    user_column = {"blog/post": "author", "blog/comment": "author", "shop/order": "customer"}.get(model)
    if user_column:  # the user column, read from default (the page header names the user anyway)
        assert re.search(f'<td class="field-{user_column}[^"]*">{admin_user.username}</td>', page), page


@pytest.mark.parametrize(("query", "titles"), [("Hello", ["Hello"]), ("nothing-like-it", [])])
def test_post_search_lists_only_matching_posts(
    admin_client: Client, sample: dict[str, Any], query: str, titles: list[str]
) -> None:
    response = admin_client.get(f"/admin/blog/post/?q={query}")

    assert [post.title for post in response.context["cl"].result_list] == titles


@pytest.mark.parametrize("model", MODELS)
def test_change_page_shows_the_objects_saved_values(admin_client: Client, sample: dict[str, Any], model: str) -> None:
    response = admin_client.get(f"/admin/{model}/{sample[model].pk}/change/")

    form = response.context["adminform"].form
    assert form.instance.pk == sample[model].pk
    field = {"blog/post": "title", "blog/comment": "content", "shop/product": "name", "shop/order": "order_number"}
    assert form.initial[field[model]] == getattr(sample[model], field[model])


def test_post_changed_through_admin_is_saved_in_blog_db(admin_client: Client, sample: dict[str, Any]) -> None:
    post = sample["blog/post"]

    response = admin_client.post(
        f"/admin/blog/post/{post.pk}/change/", {"title": "Renamed", "content": "new", "author": post.author_id}
    )

    assert response.status_code == 302, response.context["adminform"].errors
    assert rows("blog_db", "SELECT id, title, content FROM blog_post") == [(post.pk, "Renamed", "new")]


def test_product_changed_through_admin_is_saved_in_shop_db_only(admin_client: Client, sample: dict[str, Any]) -> None:
    product = sample["shop/product"]

    response = admin_client.post(
        f"/admin/shop/product/{product.pk}/change/", {"name": "Cup", "price": "7.25", "stock": "4"}
    )

    assert response.status_code == 302, response.context["adminform"].errors
    saved = rows("shop_db", "SELECT id, name, price, stock FROM shop_product")
    assert saved == [(product.pk, "Cup", Decimal("7.25"), 4)]
    assert table_ids("default", "shop_product") is None
    assert table_ids("blog_db", "shop_product") is None
