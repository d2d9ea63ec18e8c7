"""Read replicas on real streaming replication: routing, read-your-writes, failover and lag.

blog_db's server (the shared `blog` container) is the primary; `replica` is a hot standby of it on the same
Docker network, made the way the Compose `replica` profile makes db-blog-replica. The app runs with the
stack's runtime roles (the least_privilege databases), which the standby has too: they are replicated.
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import re
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.appserver import App, manage, orm, serving
from tests.integration.postgres import Server
from tests.integration.replica import running_replica, wait_received, wait_replayed
from tests.integration.stack import LeastPrivilege

PASSWORD = "replica-test-pw"

# Which alias a read of blog is routed to, whether that connection is a standby, and what a read finds there.
ROUTED_READ = """
import json
from django.db import connections, router
from apps.blog.models import Post
alias = router.db_for_read(Post)
with connections[alias].cursor() as cursor:
    cursor.execute("SELECT pg_is_in_recovery()")
    standby = cursor.fetchone()[0]
print(json.dumps([alias, standby, Post.objects.filter(title={mark!r}).count()]))
"""

# Requests through the real ReadYourWritesMiddleware (no view added to the app): one that writes a post and
# then reads, one from another client, and one from the writer again carrying the cookie it was given.
ONE_REQUEST = """
import json
from django.db import connections, router
from django.http import JsonResponse
from django.test import RequestFactory
from apps.blog.models import Post
from multidb.middleware import COOKIE, ReadYourWritesMiddleware

def routed():
    alias = router.db_for_read(Post)
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        return [alias, cursor.fetchone()[0]]

def write_then_read(request):
    before = routed()
    Post.objects.create(title="{mark}", content="x", author_id={author})
    return JsonResponse({{"before": before, "after": routed(), "seen": Post.objects.filter(title="{mark}").exists()}})

def read(request):
    return JsonResponse({{"routed": routed(), "seen": Post.objects.filter(title="{mark}").exists()}})

writer = ReadYourWritesMiddleware(write_then_read)(RequestFactory().post("/"))
other = ReadYourWritesMiddleware(read)(RequestFactory().get("/"))
again = RequestFactory().get("/", HTTP_COOKIE=f"{{COOKIE}}={{writer.cookies[COOKIE].value}}")
again = ReadYourWritesMiddleware(read)(again)
print(json.dumps({{"writer": json.loads(writer.content), "other": json.loads(other.content),
                   "again": json.loads(again.content)}}))
"""


@pytest.fixture(scope="module")
def replica(least_privilege: LeastPrivilege, servers: dict[str, Server]) -> Iterator[Server]:
    """A hot standby of blog's server, started after the least_privilege databases exist (it copies them)."""
    with running_replica(servers["blog"]) as standby:
        yield standby


@pytest.fixture
def restored(replica: Server, servers: dict[str, Server]) -> Iterator[Server]:
    """The replica, running and replaying again after the test, whatever the test did to it."""
    try:
        yield replica
    finally:
        replica.ensure_running()
        replica.query("SELECT pg_wal_replay_resume()")
        wait_replayed(servers["blog"], replica)


@pytest.fixture(scope="module")
def author(least_privilege: LeastPrivilege) -> tuple[str, int]:
    """A user of the API (in default), and their id."""
    name = "rep" + secrets.token_hex(4)
    code = (
        "import json; from django.contrib.auth.models import User; "
        f"print(json.dumps(User.objects.create_user('{name}', password='{PASSWORD}').pk))"
    )
    return name, orm(code, config=least_privilege.runtime.config)


def replica_config(
    least_privilege: LeastPrivilege, replica: Server, path: Path, roles: str = "runtime", **routing: float
) -> Path:
    """The stack's config (runtime or owner roles) plus blog_replica on the standby, as config/compose-replica.yaml."""
    config = yaml.safe_load(getattr(least_privilege, roles).config.read_text())
    blog_db = config["databases"]["blog_db"]  # same role and password: the standby has blog_db's roles
    config["databases"]["blog_replica"] = {
        **{key: value for key, value in blog_db.items() if key != "migrate_to"},
        **{"host": replica.host, "port": replica.port, "apps": ["blog"], "operations": ["read"]},
    }
    # Tests that pause replay check routing, not lag: only the lag test sets a small limit.
    config["routing"] = {"replica_max_lag_seconds": 3600, **routing}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def insert_post(least_privilege: LeastPrivilege, title: str) -> None:
    """A post written straight into the primary's blog database (psycopg, the owner role)."""
    with least_privilege.owner.connect("blog_db") as primary:
        primary.execute(
            "INSERT INTO blog_post (title, content, author_id, created_at) VALUES (%s, '', 1, now())", [title]
        )


def routed_read(config: Path, mark: str = "") -> list[Any]:
    """[alias a blog read is routed to, whether it is a standby, posts titled `mark` found there]."""
    result: list[Any] = orm(ROUTED_READ.format(mark=mark), config=config)
    return result


def test_blog_reads_go_to_the_standby_and_writes_to_the_primary(
    least_privilege: LeastPrivilege, replica: Server, servers: dict[str, Server], tmp_path: Path
) -> None:
    config = replica_config(least_privilege, replica, tmp_path / "replica.yaml")
    mark = "rep" + secrets.token_hex(6)
    insert_post(least_privilege, mark)
    wait_replayed(servers["blog"], replica)

    read = routed_read(config, mark)

    assert read == ["blog_replica", True, 1]  # the standby, holding the primary's row
    assert servers["blog"].query("SELECT pg_is_in_recovery()") == [(False,)]


def test_migrate_all_skips_the_replica(least_privilege: LeastPrivilege, replica: Server, tmp_path: Path) -> None:
    config = replica_config(least_privilege, replica, tmp_path / "owner.yaml", roles="owner")

    result = manage("migrate_all", config=config)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "blog_replica  skipped: replica, never migrated" in result.stdout


def test_a_write_then_a_read_in_one_request_reads_from_the_primary(
    least_privilege: LeastPrivilege, restored: Server, author: tuple[str, int], tmp_path: Path
) -> None:
    config = replica_config(least_privilege, restored, tmp_path / "replica.yaml")
    restored.query("SELECT pg_wal_replay_pause()")  # the standby cannot have the new post: only the primary can
    mark = "rep" + secrets.token_hex(6)

    result = orm(ONE_REQUEST.format(mark=mark, author=author[1]), config=config)

    assert result["writer"] == {"before": ["blog_replica", True], "after": ["blog_db", False], "seen": True}
    assert result["other"] == {"routed": ["blog_replica", True], "seen": False}  # pinning is per request
    assert result["again"] == {"routed": ["blog_db", False], "seen": True}  # ... and per client, by cookie


def test_the_api_client_reads_its_new_post_at_once_while_others_read_the_standby(
    least_privilege: LeastPrivilege,
    restored: Server,
    servers: dict[str, Server],
    author: tuple[str, int],
    tmp_path: Path,
) -> None:
    config = replica_config(least_privilege, restored, tmp_path / "replica.yaml")
    title = "rep" + secrets.token_hex(6)
    with serving(config) as app:
        writer, stranger = Client(app), Client(app)
        restored.query("SELECT pg_wal_replay_pause()")

        created = writer.post("/api/posts/", {"title": title, "content": "mine"}, (author[0], PASSWORD))
        mine = writer.titles("/api/posts/")
        theirs = stranger.titles("/api/posts/")
        restored.query("SELECT pg_wal_replay_resume()")
        wait_replayed(servers["blog"], restored)
        caught_up = stranger.titles("/api/posts/")

    assert created[0] == 201, created
    assert writer.cookie("multidb_rw") == "blog_db"
    assert title in mine  # read-your-writes: from the primary
    assert title not in theirs  # another client reads the standby, which has not replayed it yet
    assert title in caught_up  # ... and sees it once the standby replays


def test_with_the_replica_stopped_reads_come_from_the_primary_and_health_says_down(
    least_privilege: LeastPrivilege, restored: Server, tmp_path: Path
) -> None:
    # replica_check_seconds is the default 5: the first read after the stop fails over, not the first check.
    config = replica_config(least_privilege, restored, tmp_path / "replica.yaml")
    title = "rep" + secrets.token_hex(6)
    insert_post(least_privilege, title)
    with serving(config) as app:
        assert app.get("/api/posts/")[0] == 200
        restored.stop()  # mid-run: the app keeps running

        listed = app.get("/api/posts/")
        status, ready = app.get("/readyz")
    health = manage("dbhealth", "--json", config=config)

    assert listed[0] == 200 and title in [post["title"] for post in listed[1]["results"]]
    assert status == 200, ready  # a replica never makes the app unready
    assert {alias: db["status"] for alias, db in ready["databases"].items()} == {
        "default": "ok",
        "blog_db": "ok",
        "shop_db": "ok",
        "blog_replica": "down",
    }
    assert ready["databases"]["blog_replica"]["replica"] is True
    assert health.returncode == 0, health.stderr
    assert json.loads(health.stdout)["databases"]["blog_replica"]["status"] == "down"
    assert routed_read(config)[:2] == ["blog_db", False]


def test_a_replica_lagging_beyond_the_limit_is_degraded_and_avoided_while_the_app_stays_ready(
    least_privilege: LeastPrivilege, restored: Server, servers: dict[str, Server], tmp_path: Path
) -> None:
    limit = 1.0
    config = replica_config(least_privilege, restored, tmp_path / "lagging.yaml", replica_max_lag_seconds=limit)
    mark = "rep" + secrets.token_hex(6)
    insert_post(least_privilege, mark)  # a replayed commit: the lag is measured from its time
    wait_replayed(servers["blog"], restored)
    restored.query("SELECT pg_wal_replay_pause()")
    insert_post(least_privilege, mark)  # received, never replayed while paused
    wait_received(servers["blog"], restored)

    with serving(config) as app:
        status, ready = _readyz_until_degraded(app, timeout=15)
    health = manage("dbhealth", config=config)

    lagging = ready["databases"]["blog_replica"]
    assert status == 200 and ready["status"] == "ok", ready  # degraded, and the app stays ready
    assert lagging["status"] == "degraded" and lagging["lag_seconds"] > limit, lagging
    assert f"(limit {limit:g}s); reads avoid it" in lagging["error"]
    assert health.returncode == 0, health.stderr
    assert "blog_replica  degraded: lags" in health.stdout
    assert routed_read(config)[:2] == ["blog_db", False]


def test_an_alias_listing_both_nodes_writes_to_the_primary_and_reports_the_standby_s_lag(
    least_privilege: LeastPrivilege, restored: Server, servers: dict[str, Server], tmp_path: Path
) -> None:
    # The HA shape (docs/ha.md) on real streaming replication: the standby listed first, as after a failover.
    primary, standby = _address(servers["blog"]), _address(restored)
    path = _nodes_config(least_privilege, tmp_path, f"{standby},{primary}")
    restored.query("SELECT pg_wal_replay_pause()")
    insert_post(least_privilege, "nodes" + secrets.token_hex(4))  # WAL the paused standby receives, never replays
    wait_received(servers["blog"], restored)

    written = orm(WRITE_THROUGH_THE_ALIAS, config=path)
    health = manage("dbhealth", "--json", config=path)
    text = manage("dbhealth", config=path)

    assert written == [primary, False], written  # libpq skipped the standby listed first
    assert health.returncode == 0, health.stderr
    blog_db = json.loads(health.stdout)["databases"]["blog_db"]
    assert (blog_db["status"], blog_db["nodes"], blog_db["leader"]) == ("ok", 2, primary), blog_db
    [reported] = blog_db["standbys"]
    assert (reported["host"], reported["status"]) == (standby, "ok") and reported["lag_bytes"] > 0, reported
    # The text is a second reading: the primary may have written more WAL since (the lag only grows while paused).
    line = re.search(rf"\(leader {re.escape(primary)}; standby {re.escape(standby)} ok, lag (\d+) B\)", text.stdout)
    assert line and int(line[1]) >= reported["lag_bytes"], text.stdout


def test_a_standby_that_never_answers_is_reported_down_and_its_alias_stays_ok(
    least_privilege: LeastPrivilege, restored: Server, servers: dict[str, Server], tmp_path: Path
) -> None:
    # A frozen node accepts the connection (its kernel does) and never says a word: only the probe's deadline
    # ends the wait, and it must end before the report's own timeout, or the alias would read "timeout".
    primary, standby = _address(servers["blog"]), _address(restored)
    path = _nodes_config(least_privilege, tmp_path, f"{primary},{standby}")
    frozen = restored.container.get_wrapped_container()
    frozen.pause()
    try:
        health = manage("dbhealth", "--json", "--timeout", "2", config=path)
    finally:
        frozen.unpause()

    assert health.returncode == 0, health.stdout + health.stderr
    blog_db = json.loads(health.stdout)["databases"]["blog_db"]
    assert (blog_db["status"], blog_db["leader"]) == ("ok", primary), blog_db
    assert blog_db["standbys"] == [{"host": standby, "status": "down", "lag_bytes": None}], blog_db


def _nodes_config(least_privilege: LeastPrivilege, tmp_path: Path, hosts: str) -> Path:
    """The runtime config with blog_db listing `hosts` (libpq multi-host) and asking for the read-write one."""
    config = yaml.safe_load(least_privilege.runtime.config.read_text())
    blog = config["databases"]["blog_db"]
    blog.update(host=hosts, port=5432)
    blog["options"] = {**blog.get("options", {}), "target_session_attrs": "read-write"}
    path = tmp_path / "nodes.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# A post saved through blog_db (the router, no .using()): the node that took it and whether it is a standby.
WRITE_THROUGH_THE_ALIAS = """
import json
from django.db import connections
from apps.blog.models import Post
Post.objects.create(title="through the node list", content="", author_id=1)
connection = connections["blog_db"]
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_is_in_recovery()")
    print(json.dumps([connection.connection.info.host, cursor.fetchone()[0]]))
"""


def _address(server: Server) -> str:
    """The server's address on its Docker network (reachable from this host), where it listens on 5432."""
    wrapped = server.container.get_wrapped_container()
    wrapped.reload()
    return str(next(iter(wrapped.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"])


def _readyz_until_degraded(app: App, timeout: float) -> tuple[int, Any]:
    """/readyz until the replica is degraded: the lag grows from the last replayed commit, in real time."""
    deadline = time.monotonic() + timeout
    while True:
        status, ready = app.get("/readyz")
        if ready["databases"]["blog_replica"]["status"] == "degraded" or time.monotonic() > deadline:
            return status, ready
        time.sleep(0.2)  # poll interval between real requests


class Client:
    """One HTTP client with its own cookie jar, like a browser: the read-your-writes cookie comes back."""

    def __init__(self, app: App) -> None:
        self.base = app.base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def post(self, path: str, payload: Any, auth: tuple[str, str]) -> tuple[int, Any]:
        token = base64.b64encode(":".join(auth).encode()).decode()
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
            method="POST",
        )
        return self._send(request)

    def titles(self, path: str) -> list[str]:
        status, body = self._send(urllib.request.Request(self.base + path))
        assert status == 200, body
        return [post["title"] for post in body["results"]]

    def cookie(self, name: str) -> str | None:
        return next((cookie.value for cookie in self.jar if cookie.name == name), None)

    def _send(self, request: urllib.request.Request) -> tuple[int, Any]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())
