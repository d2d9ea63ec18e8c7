"""The API at the edge of the Compose stack, over real HTTP: permissions, throttling, invalid text, a database down,
and Schemathesis against /api/schema/."""

from __future__ import annotations

import base64
import json
import os
import ssl
import statistics
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_stack import API_USER, DATABASES, REPO, Stack

pytestmark = pytest.mark.e2e
PASSWORD = "e2e-" + uuid.uuid4().hex
SCHEMATHESIS_TIMEOUT = 300  # seconds; 5 examples per operation take 30-60 s on an idle machine


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class Api:
    """The stack's API as a client sees it: through the TLS proxy when the fixture has one, else gunicorn's port."""

    base_url: str
    ca_file: Path | None  # the CA that signed the proxy's certificate; None over plain HTTP

    @property
    def context(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else None

    def call(
        self,
        method: str,
        path: str,
        *,
        user: str | None = None,
        password: str = PASSWORD,
        body: Any = None,
        raw: bytes | None = None,
    ) -> Reply:
        request = urllib.request.Request(f"{self.base_url}{path}", method=method)
        if user is not None:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        if body is not None or raw is not None:
            request.data = raw if raw is not None else json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.context) as response:
                return Reply(response.status, dict(response.headers), json.loads(response.read() or b"null"))
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), json.loads(error.read() or b"null"))


def api_for(stack: Stack) -> Api:
    # The one place that knows how the fixture exposes the app (cedge's proxy adds base_url and ca_file).
    if hasattr(stack, "base_url"):
        return Api(stack.base_url, Path(stack.ca_file))
    return Api(f"http://127.0.0.1:{stack.port}", None)


@dataclass
class People:
    alice: str
    bob: str


@pytest.fixture(scope="module")
def api(stack: Stack) -> Api:
    return api_for(stack)


@pytest.fixture(scope="module")
def people(stack: Stack) -> People:
    """Two plain users (no permissions), created in the app container; the password travels in the environment."""
    suffix = uuid.uuid4().hex[:6]
    made = People(alice=f"alice-{suffix}", bob=f"bob-{suffix}")
    code = (
        "import os; from django.contrib.auth.models import User; "
        f"[User.objects.create_user(n, password=os.environ['E2E_PASSWORD']) for n in ({made.alice!r}, {made.bob!r})]"
    )
    stack.compose(
        "exec",
        "-T",
        "-e",
        "E2E_PASSWORD",
        "app",
        "python",
        "app/manage.py",
        "shell",
        "-c",
        code,
        env={"E2E_PASSWORD": PASSWORD},
    )
    return made


@pytest.fixture
def fresh_throttles(stack: Stack) -> Iterator[None]:
    """An empty throttle cache before (Schemathesis sends wrong credentials on purpose) and after (a throttled
    address would lock later tests out)."""
    code = "from django.core.cache import cache; cache.clear()"
    stack.compose("exec", "-T", "app", "python", "app/manage.py", "shell", "-c", code)
    yield
    stack.compose("exec", "-T", "app", "python", "app/manage.py", "shell", "-c", code)


def test_anonymous_order_listing_is_refused(api: Api) -> None:
    reply = api.call("GET", "/api/orders/")

    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"].startswith("Basic")
    assert reply.headers["Content-Type"] == "application/json"


def test_a_user_lists_only_their_own_orders(api: Api, people: People) -> None:
    numbers = {}
    for name in (people.alice, people.bob):
        numbers[name] = f"E2E-{uuid.uuid4().hex[:8]}"
        created = api.call("POST", "/api/orders/", user=name, body={"order_number": numbers[name], "total": "3.00"})
        assert created.status == 201, created.body

    for name in (people.alice, people.bob):
        listed = api.call("GET", "/api/orders/", user=name)
        assert listed.status == 200
        assert [(o["order_number"], o["customer"]) for o in listed.body["results"]] == [(numbers[name], name)]


def test_product_creation_without_the_permission_is_403(api: Api, people: People) -> None:
    reply = api.call("POST", "/api/products/", user=people.bob, body={"name": "Mug", "price": "1.00", "stock": 1})

    assert reply.status == 403
    assert reply.body["detail"] == "You do not have permission to perform this action."


@pytest.mark.parametrize("text", ["\\ud800", "a\\u0000b"])
def test_a_lone_surrogate_or_nul_in_a_json_string_is_400(api: Api, people: People, text: str) -> None:
    raw = ('{"title": "%s", "content": "c"}' % text).encode()  # noqa: UP031 - the escape must reach the server as is

    reply = api.call("POST", "/api/posts/", user=people.alice, raw=raw)

    assert reply.status == 400
    assert reply.body["errors"]["__all__"] == ["invalid text: a JSON string holds a lone surrogate or a NUL character"]


def test_with_shop_db_stopped_orders_are_503_naming_it_and_posts_still_answer(
    api: Api, people: People, stack: Stack
) -> None:
    service = DATABASES["shop_db"][0]
    stack.compose("stop", service)
    try:
        orders = api.call("GET", "/api/orders/", user=people.alice)
        posts = api.call("GET", "/api/posts/")
    finally:
        stack.compose("start", service)
        _wait_until_ready(api)

    assert orders.status == 503, orders.body
    assert orders.headers["Content-Type"] == "application/json"
    assert int(orders.headers["Retry-After"]) > 0
    assert orders.body["alias"] == "shop_db"
    assert posts.status == 200
    assert api.call("GET", "/api/orders/", user=people.alice).status == 200  # back once shop_db is


def test_schemathesis_finds_no_server_error_and_no_schema_violation(api: Api, stack: Stack, tmp_path: Path) -> None:
    # A session, not Basic auth: Basic hashes the password on every request (~0.3 s), a session once at login.
    # Cookie, CSRF token and Referer go through the environment into the config file, never on a command line.
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        'headers = { Cookie = "sessionid=${ST_SESSION}; csrftoken=${ST_CSRF}", X-CSRFToken = "${ST_CSRF}", '
        'Referer = "${ST_REFERER}" }\n'
    )
    env = {**os.environ, "ST_SESSION": _session_key(stack, API_USER), "ST_CSRF": uuid.uuid4().hex}
    env["ST_REFERER"] = f"{api.base_url}/"
    # positive_data_acceptance / negative_data_rejection judge how lenient validation is (DRF reads "5" as an
    # integer, trims whitespace), not server errors or responses that break the schema: left out on purpose.
    command = [
        str(REPO / ".venv" / "bin" / "schemathesis"), "--config-file", str(config), "run",
        f"{api.base_url}/api/schema/", "--checks", "all",
        "--exclude-checks", "positive_data_acceptance,negative_data_rejection",
        "--phases", "examples,fuzzing", "--max-examples", "5", "--seed", "13", "--no-shrink",
        "--request-timeout", "30", "--report-dir", str(tmp_path / "report"),
    ]  # fmt: skip
    if api.ca_file is not None:
        command += ["--tls-verify", str(api.ca_file)]

    # One worker: Hypothesis describing strategies from two threads hit a CPython 3.11 ast SystemError here.
    started = time.monotonic()
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=SCHEMATHESIS_TIMEOUT, check=False, cwd=tmp_path
    )
    print(f"schemathesis: {time.monotonic() - started:.0f} s")  # about 30-60 s; a loaded machine takes longer

    assert result.returncode == 0, result.stdout[:3000] + "\n...\n" + result.stdout[-4000:] + result.stderr[-2000:]


def _session_key(stack: Stack, username: str) -> str:
    """A logged-in session for `username`, made in the app container as Django's test client's force_login does."""
    code = (
        "from importlib import import_module; from django.conf import settings; "
        "from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model; "
        f"user = get_user_model().objects.get(username={username!r}); "
        "session = import_module(settings.SESSION_ENGINE).SessionStore(); "
        "session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0], "
        "HASH_SESSION_KEY: user.get_session_auth_hash()}); session.create(); print(session.session_key)"
    )
    out = stack.compose("exec", "-T", "app", "python", "app/manage.py", "shell", "-c", code).stdout
    return out.strip().splitlines()[-1]


def test_twenty_wrong_passwords_then_429_refused_before_hashing(
    api: Api, people: People, fresh_throttles: None
) -> None:
    # Last in this file: the address stays throttled until fresh_throttles clears the cache.
    failed: list[float] = []
    for _ in range(20):
        started = time.monotonic()
        assert api.call("GET", "/api/posts/", user=people.alice, password="wrong").status == 401
        failed.append(time.monotonic() - started)

    throttled: list[float] = []
    for password in ("wrong", PASSWORD, "wrong"):  # the right password too: the address is refused, not the guess
        started = time.monotonic()
        reply = api.call("GET", "/api/posts/", user=people.alice, password=password)
        throttled.append(time.monotonic() - started)
        assert reply.status == 429, reply.body
        assert 1 <= int(reply.headers["Retry-After"]) <= 600  # the window: 20 failures per 10 minutes

    # A refused attempt costs no password hashing (~0.3 s with Django's PBKDF2 settings).
    assert statistics.median(throttled) < statistics.median(failed) / 2, (failed, throttled)


def _wait_until_ready(api: Api, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api.call("GET", "/readyz").status == 200:
            return
        time.sleep(1)
    raise AssertionError("the stack did not become ready again after restarting shop_db")
