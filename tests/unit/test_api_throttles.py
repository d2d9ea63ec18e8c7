"""Throttles: failed logins per client address (API Basic auth and admin, refused before hashing) and calls per user."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.test import Client

from project.api.throttles import LoginFailureThrottle
from tests.unit.test_api import PASSWORD, basic

pytestmark = pytest.mark.django_db(databases=["default", "blog_db", "shop_db"])
FAILURES_ALLOWED = 5


@pytest.fixture(autouse=True)
def lowered_rates(settings: Any, tmp_path: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}
    }
    rates = {"login_failure": f"{FAILURES_ALLOWED}/10m", "user": "3/minute"}
    settings.REST_FRAMEWORK = {**getattr(settings, "REST_FRAMEWORK", {}), "DEFAULT_THROTTLE_RATES": rates}


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice", password=PASSWORD, is_staff=True, is_superuser=True)


def wrong_logins(client: Client, count: int, **extra: Any) -> list[int]:
    return [client.get("/api/orders/", **basic("alice", "wrong"), **extra).status_code for _ in range(count)]


def test_failed_basic_logins_past_the_rate_are_429_with_retry_after(client: Client, alice: User) -> None:
    assert wrong_logins(client, FAILURES_ALLOWED) == [401] * FAILURES_ALLOWED

    throttled = client.get("/api/orders/", **basic("alice", "wrong"))

    assert throttled.status_code == 429
    assert 60 < int(throttled["Retry-After"]) <= 600  # the window is ten minutes, not DRF's one-unit periods
    assert throttled.json()["detail"].startswith("too many failed logins")


def test_a_throttled_address_is_refused_before_any_password_is_checked(client: Client, alice: User) -> None:
    wrong_logins(client, FAILURES_ALLOWED)

    with mock.patch.object(ModelBackend, "authenticate", autospec=True) as hashing_backend:
        right = client.get("/api/orders/", **basic("alice", PASSWORD))
        wrong = client.get("/api/orders/", **basic("alice", "wrong"))

    assert (right.status_code, wrong.status_code) == (429, 429)
    hashing_backend.assert_not_called()


def test_another_address_is_not_throttled(client: Client, alice: User) -> None:
    wrong_logins(client, FAILURES_ALLOWED, REMOTE_ADDR="10.0.0.1")

    assert client.get("/api/orders/", **basic("alice", PASSWORD), REMOTE_ADDR="10.0.0.2").status_code == 200


def test_behind_the_proxy_the_address_is_the_proxys_last_forwarded_entry(
    client: Client, alice: User, settings: Any
) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # A client cannot escape by forging the first entries: the proxy appends the address it saw.
    for forged in range(FAILURES_ALLOWED):
        client.get("/api/orders/", **basic("alice", "wrong"), HTTP_X_FORWARDED_FOR=f"10.9.9.{forged}, 192.0.2.7")

    assert client.get("/api/posts/", **basic("alice", "wrong"), HTTP_X_FORWARDED_FOR="192.0.2.7").status_code == 429
    assert client.get("/api/posts/", **basic("alice", PASSWORD), HTTP_X_FORWARDED_FOR="192.0.2.8").status_code == 200


def test_admin_login_failures_are_throttled_and_counted_with_the_api(client: Client, alice: User) -> None:
    for _ in range(FAILURES_ALLOWED - 1):
        client.post("/admin/login/", {"username": "alice", "password": "wrong"})
    wrong_logins(client, 1)  # the API's failure counts for the same address

    with mock.patch.object(ModelBackend, "authenticate", autospec=True) as hashing_backend:
        response = client.post("/admin/login/", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 200  # the form again, not the redirect of a successful login
    assert "Too many failed logins from your address" in response.content.decode()
    hashing_backend.assert_not_called()


def test_authenticated_calls_past_the_user_rate_are_429(client: Client, alice: User) -> None:
    statuses = [client.get("/api/posts/", **basic("alice", PASSWORD)).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_anonymous_reads_are_not_counted_per_user(client: Client) -> None:
    assert {client.get("/api/posts/").status_code for _ in range(6)} == {200}


@pytest.mark.parametrize(("rate", "parsed"), [("20/10m", (20, 600)), ("20/minute", (20, 60)), ("5/2h", (5, 7200))])
def test_login_failure_rates_read_a_multiple_of_the_unit(rate: str, parsed: tuple[int, int]) -> None:
    assert LoginFailureThrottle().parse_rate(rate) == parsed
