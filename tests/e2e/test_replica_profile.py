"""The Compose stack with its `replica` profile (`make up PROFILE=replica`): db-blog-replica streams db-blog,
the app reads the blog from it, and a client reads its own new post at once."""

from __future__ import annotations

import base64
import http.cookiejar
import json
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_stack import API_PASSWORD, API_USER, DATABASES, MAKE_UP_TIMEOUT, REPO, Stack, stack_env

pytestmark = pytest.mark.e2e

PROJECT = "multidb-e2e-replica"  # beside test_stack.py's multidb-e2e, never the developer's stack
REPLICA = ("--profile", "replica")  # for direct `docker compose` calls; make gets PROFILE=replica


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    """The stack brought up as the README says, and what `make up` printed."""
    env_file = tmp_path_factory.mktemp("e2e-replica") / ".env"
    env = stack_env(PROJECT, env_file)
    env.pop("COMPOSE_PROFILES", None)
    stack = Stack(env=env, env_file=env_file, port=int(env["HTTPS_PORT"]))
    stack.compose("--profile", "*", "down", "--volumes", "--remove-orphans", check=False)  # a killed run's leftovers
    try:
        up = subprocess.run(
            ["make", "--no-print-directory", "-C", str(REPO), "up", "PROFILE=replica"],
            env=env,
            capture_output=True,
            text=True,
            timeout=MAKE_UP_TIMEOUT,
            check=False,
        )
        assert up.returncode == 0, f"make up PROFILE=replica failed:\n{up.stdout}\n{up.stderr}"
        stack.compose(
            *("exec", "-T", "-e", "DJANGO_SUPERUSER_PASSWORD", "app"),
            *("python", "app/manage.py", "createsuperuser", "--noinput", "--username", API_USER),
            *("--email", "e2e@example.invalid"),
            env={"DJANGO_SUPERUSER_PASSWORD": API_PASSWORD},
        )
        yield stack, up.stdout
    finally:
        stack.env["FORCE"] = "1"
        stack.env["DELETE_BACKUPS"] = "1"  # the backup repository too (kept by a plain destroy)
        stack.make("destroy", check=False, timeout=300)


def test_make_up_starts_the_replica_healthy_and_prints_its_lag(stack: tuple[Stack, str]) -> None:
    running, printed = stack
    services = running.services()

    assert (services["db-blog-replica"]["State"], services["db-blog-replica"]["Health"]) == ("running", "healthy")
    assert "blog_replica ok (replica, lag " in printed, printed


def test_readyz_lists_the_replica_with_its_lag(stack: tuple[Stack, str]) -> None:
    status, body = stack[0].http("GET", "/readyz")

    assert status == 200, body
    replica = body["databases"]["blog_replica"]
    assert (replica["status"], replica["replica"]) == ("ok", True), replica
    assert isinstance(replica["lag_seconds"], float) and 0 <= replica["lag_seconds"] < 10, replica
    assert {body["databases"][alias]["status"] for alias in DATABASES} == {"ok"}


def test_the_replica_is_a_streaming_standby_of_db_blog_and_never_migrated(stack: tuple[Stack, str]) -> None:
    running = stack[0]

    assert replica_sql(running, "SELECT pg_is_in_recovery()") == "t"
    assert running.superuser_sql("db-blog", "blog", "SELECT state FROM pg_stat_replication") == "streaming"
    migrate_log = running.compose("logs", "--no-log-prefix", "migrate").stdout
    assert "blog_replica  skipped: replica, never migrated" in migrate_log


def test_a_post_created_through_the_api_is_readable_at_once_by_the_same_client(stack: tuple[Stack, str]) -> None:
    running = stack[0]
    # A fresh replayed commit, so the standby's lag stays under the limit while replay is paused below.
    seed = f"seed-{uuid.uuid4().hex[:8]}"
    assert running.http("POST", "/api/posts/", {"title": seed, "content": "x"})[0] == 201
    _until(lambda: replica_sql(running, "SELECT count(*) FROM blog_post WHERE title = :'t'", t=seed) == "1")
    writer, stranger = Client(running), Client(running)
    title = f"mine-{uuid.uuid4().hex[:8]}"

    replica_sql(running, "SELECT pg_wal_replay_pause()")  # the standby cannot have the new post; the primary can
    try:
        created = writer.post("/api/posts/", {"title": title, "content": "read your writes"})
        mine = writer.titles()
        theirs = stranger.titles()
    finally:
        replica_sql(running, "SELECT pg_wal_replay_resume()")

    assert created[0] == 201, created
    assert title in mine  # the same client, at once: its cookie keeps its reads on db-blog
    assert title not in theirs  # another client reads the standby, which had not replayed it
    _until(lambda: title in stranger.titles())  # ... and sees it once the standby replays


def test_make_down_without_the_profile_removes_the_replica_too(stack: tuple[Stack, str]) -> None:
    running = stack[0]
    running.make("down")  # as typed later, without PROFILE

    assert running.compose(*REPLICA, "ps", "--all", "-q").stdout.strip() == ""


def replica_sql(stack: Stack, sql: str, **params: str) -> str:
    """psql as the superuser on the standby's blog database (its roles are db-blog's)."""
    variables = [arg for name, value in params.items() for arg in ("-v", f"{name}={value}")]
    command = ["psql", "-U", "postgres", "-d", "blog", "-X", "-v", "ON_ERROR_STOP=1", "-tA", *variables]
    return stack.compose(*REPLICA, "exec", "-T", "db-blog-replica", *command, stdin=sql).stdout.strip()


def _until(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)  # poll interval between real queries


class Client:
    """One HTTP client with a cookie jar, like a browser; authenticated as the e2e API user."""

    def __init__(self, stack: Stack) -> None:
        self.base = stack.base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            urllib.request.HTTPSHandler(context=stack.ssl_context()),
        )

    def post(self, path: str, payload: dict[str, str]) -> tuple[int, Any]:
        token = base64.b64encode(f"{API_USER}:{API_PASSWORD}".encode()).decode()
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
            method="POST",
        )
        with self.opener.open(request, timeout=15) as response:
            return response.status, json.loads(response.read())

    def titles(self) -> list[str]:
        with self.opener.open(self.base + "/api/posts/", timeout=15) as response:
            return [post["title"] for post in json.loads(response.read())["results"]]
