"""API errors: a database down is a JSON 503 naming its alias, invalid text a 400, nothing under /api/ is HTML."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.db.utils import OperationalError
from django.test import Client, RequestFactory

from apps.blog.models import Post
from project.api import errors

# test_api's autouse fixtures (fast hashing, a throttle cache of each test's own) apply here too.
from tests.unit.test_api import PASSWORD, basic, fast_password_hashing, post_json, throttle_cache  # noqa: F401

pytestmark = pytest.mark.django_db(databases=["default", "blog_db", "shop_db"])


@pytest.fixture
def user() -> User:
    return User.objects.create_user("alice", password=PASSWORD, is_staff=True)


@contextmanager
def failing(alias: str) -> Iterator[None]:
    """Every statement on `alias` fails inside the driver, as Django sees a server that went away."""

    def broken(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        return execute("SELECT * FROM a_table_that_is_not_there", None, many, context)

    with connections[alias].execute_wrapper(broken):
        yield


def test_orders_with_shop_db_down_are_503_json_naming_shop_db_while_posts_answer(client: Client, user: User) -> None:
    with failing("shop_db"):
        orders = client.get("/api/orders/", **basic("alice", PASSWORD))
        posts = client.get("/api/posts/")

    assert orders.status_code == 503
    assert orders["Content-Type"] == "application/json"
    assert orders["Retry-After"] == "5"
    assert orders.json()["alias"] == "shop_db"
    assert orders.json()["detail"] == "database shop_db is unavailable; retry later"
    assert posts.status_code == 200


def test_a_login_lookup_failing_on_default_names_default_not_the_views_database(client: Client, user: User) -> None:
    with failing("default"):
        orders = client.get("/api/orders/", **basic("alice", PASSWORD))

    assert (orders.status_code, orders.json()["alias"]) == (503, "default")


@pytest.mark.parametrize(
    "payload",
    [
        '{"title": "\\ud800", "content": "c"}',
        '{"title": "ok", "content": "a\\u0000b"}',
        '{"title": "ok", "content": "c", "extra": ["\\udfff"]}',
        '{"title": "ok", "content": "c", "\\ud83d": 1}',
    ],
)
def test_lone_surrogate_or_nul_in_any_json_string_is_400(client: Client, user: User, payload: str) -> None:
    response = client.post("/api/posts/", payload, content_type="application/json", **basic("alice", PASSWORD))

    assert response.status_code == 400
    assert response.json()["errors"]["__all__"] == [
        "invalid text: a JSON string holds a lone surrogate or a NUL character"
    ]
    assert Post.objects.count() == 0


def test_a_surrogate_pair_is_valid_text(client: Client, user: User) -> None:
    response = client.post(
        "/api/posts/",
        '{"title": "\\ud83d\\ude00", "content": "c"}',
        content_type="application/json",
        **basic("alice", PASSWORD),
    )

    assert response.status_code == 201 and response.json()["title"] == "\N{GRINNING FACE}"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_json_constants_are_400(client: Client, user: User, constant: str) -> None:
    # DRF's CharField would store the float nan as the text "nan".
    body = '{"title": %s, "content": "c"}' % constant  # noqa: UP031 - a JSON template

    response = client.post("/api/posts/", body, content_type="application/json", **basic("alice", PASSWORD))

    assert response.status_code == 400
    assert Post.objects.count() == 0


def test_a_body_over_the_upload_limit_is_413(client: Client, user: User, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    response = post_json(client, "/api/posts/", {"title": "t", "content": "x" * 200}, **basic("alice", PASSWORD))

    assert response.status_code == 413


def test_an_unknown_api_path_is_a_json_404(client: Client) -> None:
    response = client.get("/api/nothing-here/")

    assert response.status_code == 404
    assert response.json() == {"detail": "not found", "errors": {"__all__": ["not found"]}}


def test_an_unexpected_api_error_is_a_json_500(user: User) -> None:
    client = Client(raise_request_exception=False)
    with mock.patch("apps.blog.api.PostList.list", side_effect=RuntimeError("boom")):
        response = client.get("/api/posts/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "boom" not in json.dumps(response.json())


def test_a_session_lookup_failing_on_default_is_503_naming_default(client: Client, user: User) -> None:
    client.force_login(user)
    with failing("default"):
        response = client.get("/api/orders/")

    assert (response.status_code, response.json()["alias"]) == (503, "default")


def test_djangos_500_handler_answers_a_database_error_under_api_with_503_json() -> None:
    # A database error raised outside a DRF view (a middleware, say) reaches Django's handler500 instead.
    request = RequestFactory().get("/api/orders/")
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = errors.server_error(request)

    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert json.loads(response.content)["alias"] == "default"


def test_pages_outside_the_api_keep_django_error_pages(client: Client) -> None:
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
