"""Who may do what on the API: orders are private to their customer (staff see all), products need shop.add_product."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from apps.blog.models import Post
from apps.shop.models import Order, Product

# test_api's autouse fixtures (fast hashing, a throttle cache of each test's own) apply here too.
from tests.unit.test_api import PASSWORD, basic, fast_password_hashing, post_json, throttle_cache  # noqa: F401

pytestmark = pytest.mark.django_db(databases=["default", "blog_db", "shop_db"])
PRODUCT = {"name": "Mug", "price": "9.50", "stock": 3}


@pytest.fixture
def users() -> dict[str, User]:
    made = {name: User.objects.create_user(name, password=PASSWORD) for name in ("alice", "bob")}
    made["staff"] = User.objects.create_user("staff", password=PASSWORD, is_staff=True)
    for name, number in (("alice", "A-1"), ("bob", "B-1")):
        Order.objects.create(order_number=number, total=Decimal("1.00"), customer=made[name])
    return made


@pytest.mark.parametrize("method", ["get", "head"])
def test_anonymous_order_listing_is_401(client: Client, users: dict[str, User], method: str) -> None:
    response = getattr(client, method)("/api/orders/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(("name", "numbers"), [("alice", ["A-1"]), ("bob", ["B-1"]), ("staff", ["B-1", "A-1"])])
def test_each_user_lists_only_their_own_orders_and_staff_all(
    client: Client, users: dict[str, User], name: str, numbers: list[str]
) -> None:
    response = client.get("/api/orders/", **basic(name, PASSWORD))

    assert response.status_code == 200
    assert [order["order_number"] for order in response.json()["results"]] == numbers


def test_a_session_user_lists_only_their_own_orders(client: Client, users: dict[str, User]) -> None:
    client.force_login(users["bob"])

    assert [order["customer"] for order in client.get("/api/orders/").json()["results"]] == ["bob"]


def test_product_creation_without_the_permission_is_403_and_stores_nothing(
    client: Client, users: dict[str, User]
) -> None:
    response = post_json(client, "/api/products/", PRODUCT, **basic("bob", PASSWORD))

    assert response.status_code == 403
    assert response.json()["detail"] == "You do not have permission to perform this action."
    assert Product.objects.count() == 0


def test_product_creation_with_shop_add_product_is_201(client: Client, users: dict[str, User]) -> None:
    users["bob"].user_permissions.add(Permission.objects.get(codename="add_product", content_type__app_label="shop"))

    response = post_json(client, "/api/products/", PRODUCT, **basic("bob", PASSWORD))

    assert response.status_code == 201
    assert Product.objects.get().name == "Mug"


def test_anonymous_product_creation_is_401(client: Client) -> None:
    assert post_json(client, "/api/products/", PRODUCT).status_code == 401


def test_products_and_posts_are_listed_to_anyone(client: Client) -> None:
    assert client.get("/api/products/").status_code == 200
    assert client.get("/api/posts/").status_code == 200


def test_created_post_author_is_the_caller_whatever_the_payload_says(client: Client, users: dict[str, User]) -> None:
    payload = {"title": "t", "content": "c", "author": "alice"}

    response = post_json(client, "/api/posts/", payload, **basic("bob", PASSWORD))

    assert response.status_code == 201 and response.json()["author"] == "bob"
    assert Post.objects.get().author_id == users["bob"].pk
