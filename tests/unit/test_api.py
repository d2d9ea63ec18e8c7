"""The JSON API: rows land in their app's database, auth and CSRF are enforced, bad input is a 400."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connections
from django.test import Client

from apps.blog.models import Post
from apps.shop.models import Order, Product

ALL_DATABASES = ["default", "blog_db", "shop_db"]
pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)

PASSWORD = "correct horse battery staple"
VALID = {
    "/api/posts/": {"title": "Hello", "content": "First post"},
    "/api/products/": {"name": "Mug", "price": "9.50", "stock": 3},
    "/api/orders/": {"order_number": "A-1", "total": "19.99"},
}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # The default hasher costs ~0.2 s per login; these tests check routing and HTTP, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def throttle_cache(settings: Any, tmp_path: Any) -> None:
    # The throttles' file cache in a directory of this test's own: counts never leak between tests or runs.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}
    }


@pytest.fixture
def user() -> User:
    """alice, who may add products (tests/unit/test_api_permissions.py checks users who may not)."""
    alice = User.objects.create_user("alice", password=PASSWORD)
    alice.user_permissions.add(Permission.objects.get(codename="add_product", content_type__app_label="shop"))
    return alice


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def post_json(client: Client, url: str, payload: Any, **extra: Any) -> Any:
    return client.post(url, json.dumps(payload), content_type="application/json", **extra)


def rows(alias: str, table: str) -> list[tuple[Any, ...]] | None:
    """The table's rows read with raw SQL on one alias, or None when the table does not exist there."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        if table not in connection.introspection.table_names(cursor):
            return None
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - table names are test constants
        return cursor.fetchall()


def test_posted_post_is_stored_in_blog_db_only(client: Client, user: User) -> None:
    response = post_json(client, "/api/posts/", VALID["/api/posts/"], **basic("alice", PASSWORD))

    assert response.status_code == 201
    body = response.json()
    assert body["title"] == "Hello" and body["author"] == "alice"
    blog_rows = rows("blog_db", "blog_post")
    assert blog_rows is not None and len(blog_rows) == 1
    assert rows("default", "blog_post") is None
    assert rows("shop_db", "blog_post") is None


@pytest.mark.parametrize(("url", "table"), [("/api/products/", "shop_product"), ("/api/orders/", "shop_order")])
def test_posted_shop_rows_are_stored_in_shop_db_only(client: Client, user: User, url: str, table: str) -> None:
    response = post_json(client, url, VALID[url], **basic("alice", PASSWORD))

    assert response.status_code == 201, response.json()
    shop_rows = rows("shop_db", table)
    assert shop_rows is not None and len(shop_rows) == 1
    assert rows("default", table) is None
    assert rows("blog_db", table) is None


def test_created_order_belongs_to_the_caller_and_reports_decimals_as_strings(client: Client, user: User) -> None:
    response = post_json(client, "/api/orders/", {**VALID["/api/orders/"], "customer": 999}, **basic("alice", PASSWORD))

    assert response.status_code == 201
    assert response.json()["customer"] == "alice"
    assert response.json()["total"] == "19.99"
    assert Order.objects.get().customer_id == user.pk


def test_created_and_listed_decimals_read_the_same(client: Client, user: User) -> None:
    created = post_json(client, "/api/products/", {"name": "Pen", "price": 2.5, "stock": 1}, **basic("alice", PASSWORD))
    listed = client.get("/api/products/").json()["results"]

    assert created.json()["price"] == listed[0]["price"] == "2.50"


@pytest.mark.parametrize("url", VALID)
def test_post_without_credentials_is_401_with_challenge(client: Client, url: str) -> None:
    response = post_json(client, url, VALID[url])

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert "errors" in response.json()


@pytest.mark.parametrize(
    "authorization",
    [
        basic("alice", "wrong")["HTTP_AUTHORIZATION"],
        basic("nobody", PASSWORD)["HTTP_AUTHORIZATION"],
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Bearer abc",
    ],
)
def test_post_with_bad_credentials_is_401_even_with_a_session(client: Client, user: User, authorization: str) -> None:
    client.force_login(user)

    response = post_json(client, "/api/posts/", VALID["/api/posts/"], HTTP_AUTHORIZATION=authorization)

    assert response.status_code == 401
    assert Post.objects.count() == 0


def test_session_post_needs_a_csrf_token(user: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/admin/login/")  # sets the csrftoken cookie, as a page of the site would

    without = post_json(client, "/api/posts/", VALID["/api/posts/"])
    with_token = post_json(
        client, "/api/posts/", VALID["/api/posts/"], HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value
    )

    assert without.status_code == 403
    assert with_token.status_code == 201
    assert with_token.json()["author"] == "alice"


def test_basic_auth_post_needs_no_csrf_token(user: User) -> None:
    client = Client(enforce_csrf_checks=True)

    response = post_json(client, "/api/posts/", VALID["/api/posts/"], **basic("alice", PASSWORD))

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("url", "payload", "field"),
    [
        ("/api/posts/", {"content": "no title"}, "title"),
        ("/api/posts/", {"title": "x" * 201, "content": "c"}, "title"),
        ("/api/posts/", {"title": None, "content": "c"}, "title"),
        ("/api/posts/", {"title": "t"}, "content"),
        ("/api/products/", {"name": "Mug", "price": "abc", "stock": 1}, "price"),
        ("/api/products/", {"name": "Mug", "price": "-1", "stock": 1}, "price"),
        ("/api/products/", {"name": "Mug", "price": "1.999", "stock": 1}, "price"),
        ("/api/products/", {"name": "Mug", "price": "1e999999", "stock": 1}, "price"),
        ("/api/products/", {"name": "Mug", "price": "NaN", "stock": 1}, "price"),
        ("/api/products/", {"name": "Mug", "price": {"a": 1}, "stock": 1}, "price"),
        ("/api/products/", {"name": "Mug", "price": "1", "stock": "many"}, "stock"),
        ("/api/products/", {"name": "Mug", "price": "1", "stock": -1}, "stock"),
        ("/api/products/", {"name": "Mug", "price": "1", "stock": 2**63}, "stock"),
        ("/api/products/", {"name": "Mug", "price": "1", "stock": None}, "stock"),
        ("/api/products/", {"price": "1", "stock": 1}, "name"),
        ("/api/orders/", {"order_number": "A-1"}, "total"),
        ("/api/orders/", {"total": "1"}, "order_number"),
    ],
)
def test_invalid_field_is_400_naming_the_field(client: Client, user: User, url: str, payload: Any, field: str) -> None:
    response = post_json(client, url, payload, **basic("alice", PASSWORD))

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert all(isinstance(message, str) for message in response.json()["errors"][field])


def test_duplicate_order_number_is_400_on_order_number(client: Client, user: User) -> None:
    first = post_json(client, "/api/orders/", VALID["/api/orders/"], **basic("alice", PASSWORD))
    second = post_json(client, "/api/orders/", VALID["/api/orders/"], **basic("alice", PASSWORD))

    assert first.status_code == 201
    assert second.status_code == 400
    assert "order_number" in second.json()["errors"]
    assert Order.objects.count() == 1


@pytest.mark.parametrize("body", ["{not json", '{"title": ', b"\xff\xfe", "[" * 100_000 + "]" * 100_000, " "])
def test_malformed_json_is_400(client: Client, user: User, body: str | bytes) -> None:
    response = client.post("/api/posts/", body, content_type="application/json", **basic("alice", PASSWORD))

    assert response.status_code == 400
    assert response.json()["errors"]["__all__"][0].startswith("invalid JSON: ")


@pytest.mark.parametrize("payload", [[], ["title"], "title", 1, None, True])
def test_json_that_is_not_an_object_is_400(client: Client, user: User, payload: Any) -> None:
    response = post_json(client, "/api/posts/", payload, **basic("alice", PASSWORD))

    assert response.status_code == 400
    assert "__all__" in response.json()["errors"]


def test_form_encoded_body_is_415(client: Client, user: User) -> None:
    response = client.post("/api/posts/", VALID["/api/posts/"], **basic("alice", PASSWORD))

    assert response.status_code == 415
    assert Post.objects.count() == 0


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize("url", VALID)
def test_other_methods_are_405_with_allow(client: Client, user: User, url: str, method: str) -> None:
    response = getattr(client, method)(url, **basic("alice", PASSWORD))

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, POST"
    assert "__all__" in response.json()["errors"]


def test_post_list_is_newest_first_with_author_username(client: Client, user: User) -> None:
    for title in ["old", "new"]:
        Post.objects.create(title=title, content="c", author=user)

    response = client.get("/api/posts/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [item["title"] for item in results] == ["new", "old"]
    assert set(results[0]) == {"id", "title", "content", "author", "created_at"}
    assert results[0]["author"] == "alice"


def test_lists_show_shop_rows_products_to_anyone_orders_to_their_customer(client: Client, user: User) -> None:
    # Changed by issue 13: orders were listed to anyone; now only to their customer (and staff).
    Product.objects.create(name="Mug", price=Decimal("9.50"), stock=3)
    Order.objects.create(order_number="A-1", total=Decimal("5"), customer=user)

    products = client.get("/api/products/").json()["results"]
    orders = client.get("/api/orders/", **basic("alice", PASSWORD)).json()["results"]

    assert products == [{"id": products[0]["id"], "name": "Mug", "price": "9.50", "stock": 3}]
    assert orders[0]["customer"] == "alice" and orders[0]["total"] == "5.00"


def test_list_authors_are_fetched_in_one_query_on_default(
    client: Client, user: User, django_assert_num_queries: Any
) -> None:
    Post.objects.bulk_create(Post(title=str(i), content="c", author=user) for i in range(5))

    with django_assert_num_queries(1, connection=connections["default"]):
        response = client.get("/api/posts/")

    assert len(response.json()["results"]) == 5


def test_list_is_capped_at_100_and_honours_limit(client: Client, user: User) -> None:
    Post.objects.bulk_create(Post(title=str(i), content="c", author=user) for i in range(101))

    assert len(client.get("/api/posts/").json()["results"]) == 100
    assert len(client.get("/api/posts/?limit=3").json()["results"]) == 3


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "101", "1.5"])
@pytest.mark.parametrize("url", VALID)
def test_bad_limit_is_400_on_limit(client: Client, user: User, url: str, limit: str) -> None:
    response = client.get(url, {"limit": limit}, **basic("alice", PASSWORD))

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["limit"]


def test_lists_render_a_user_missing_from_default_as_null(client: Client, user: User) -> None:
    # After a restore of blog_db or shop_db alone, rows may name a user that main no longer holds.
    Post.objects.bulk_create(
        [Post(title="kept", content="c", author=user), Post(title="orphan", content="c", author_id=999_999)]
    )
    Order.objects.create(order_number="O-1", customer_id=999_999, total=Decimal("1.00"))

    User.objects.create_user("staff", password=PASSWORD, is_staff=True)  # staff see every order, orphans too

    posts = client.get("/api/posts/")
    orders = client.get("/api/orders/", **basic("staff", PASSWORD))

    assert posts.status_code == 200 and orders.status_code == 200
    assert {post["title"]: post["author"] for post in posts.json()["results"]} == {"kept": "alice", "orphan": None}
    assert orders.json()["results"][0]["customer"] is None


def test_limit_and_offset_page_through_with_next_and_previous_links(client: Client, user: User) -> None:
    Post.objects.bulk_create(Post(title=str(i), content="c", author=user) for i in range(5))

    first = client.get("/api/posts/?limit=2").json()
    last = client.get("/api/posts/?limit=2&offset=4").json()

    assert set(first) == {"next", "previous", "results"}  # no count: it would cost a query per page
    assert first["next"] == "http://testserver/api/posts/?limit=2&offset=2" and first["previous"] is None
    assert [post["title"] for post in last["results"]] == ["0"]
    assert last["next"] is None and last["previous"] == "http://testserver/api/posts/?limit=2&offset=2"


@pytest.mark.parametrize("offset", ["-1", "abc"])
def test_bad_offset_is_400_on_offset(client: Client, offset: str) -> None:
    response = client.get("/api/posts/", {"offset": offset})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["offset"]
