"""dbhealth and /readyz over real HTTP (runserver) on the local SQLite config."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.unit.cli import REPO, local_config, manage


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """runserver on a free loopback port, against a config in tmp_path."""
    config = local_config(tmp_path)
    with server_for(config) as base:
        yield base, config


@contextmanager
def server_for(config: Path) -> Iterator[str]:
    """runserver on a free loopback port for `config`; yields its base URL once /healthz answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(REPO / "app" / "manage.py"), "runserver", "--noreload", f"127.0.0.1:{port}"],
        env={"APP_CONFIG": str(config), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(base + "/healthz")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "runserver did not answer within 30s"
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_healthz_answers_without_databases(server: tuple[str, Path]) -> None:
    base, _ = server
    assert get(base + "/healthz") == (200, {"status": "ok"})


def test_readyz_is_503_naming_unmigrated_aliases_then_200(server: tuple[str, Path]) -> None:
    base, config = server
    assert manage("migrate_all", "--skip-makemigrations", "--database", "default", config=config).returncode == 0

    status, body = get(base + "/readyz")
    assert status == 503
    assert body["failing"] == ["blog_db", "shop_db"]
    databases = body["databases"]
    assert isinstance(databases, dict)
    assert databases["default"]["status"] == "ok"
    assert databases["blog_db"]["status"] == "down"  # file not created yet
    assert manage("migrate_all", config=config).returncode == 0

    status, body = get(base + "/readyz")
    assert status == 200, body
    assert {alias: info["status"] for alias, info in body["databases"].items()} == dict.fromkeys(
        ["default", "blog_db", "shop_db"], "ok"
    )


def test_dbhealth_reports_unapplied_migrations_as_not_ready(tmp_path: Path) -> None:
    config = local_config(tmp_path)
    assert manage("migrate_all", config=config).returncode == 0
    healthy = manage("dbhealth", config=config)
    assert healthy.returncode == 0 and healthy.stdout.count(" ok ") == 3, healthy.stdout

    # Forget blog_db's history (kept in default): the schema is there, but the history says otherwise.
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        db.execute("DELETE FROM multidb_migration_history WHERE app = 'blog'")
    result = manage("dbhealth", config=config)
    assert result.returncode == 1
    assert "blog_db  unmigrated: 1 unapplied migration(s)" in result.stdout
    assert "not ready: blog_db" in result.stderr


def test_dbhealth_json_names_a_missing_database(tmp_path: Path) -> None:
    config = local_config(tmp_path)
    assert manage("migrate_all", config=config).returncode == 0
    (tmp_path / "shop.sqlite3").unlink()
    result = manage("dbhealth", "--json", config=config)
    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert body["failing"] == ["shop_db"] and body["databases"]["shop_db"]["status"] == "down"
    assert not (tmp_path / "shop.sqlite3").exists()  # the probe does not create it


def test_readyz_is_503_when_exactly_one_alias_is_down(server: tuple[str, Path]) -> None:
    # One alias down must be enough: a threshold of "more than one" would pass the two-down test above.
    base, config = server
    assert manage("migrate_all", config=config).returncode == 0
    assert get(base + "/readyz")[0] == 200
    (config.parent / "shop.sqlite3").unlink()

    status, body = get(base + "/readyz")

    assert status == 503, body
    assert body["status"] == "unavailable" and body["failing"] == ["shop_db"]
    databases = body["databases"]
    assert isinstance(databases, dict)
    assert {alias: info["status"] for alias, info in databases.items()} == {
        "default": "ok",
        "blog_db": "ok",
        "shop_db": "down",
    }


def test_health_report_is_unready_for_any_failing_home_but_never_for_a_replica() -> None:
    from multidb.health import AliasHealth, HealthReport

    report = HealthReport(
        {
            "default": AliasHealth("ok", 1.0),
            "blog_db": AliasHealth("unmigrated", 1.0, "1 unapplied migration(s)", ["blog.0002_x"]),
            "shop_db": AliasHealth("timeout"),
            "replica": AliasHealth("down", replica=True),
        }
    )
    assert not report.ok and report.failing == ["blog_db", "shop_db"]
    body = report.as_dict()
    assert (body["status"], body["failing"]) == ("unavailable", ["blog_db", "shop_db"])
    assert body["databases"]["blog_db"] == {
        "status": "unmigrated",
        "latency_ms": 1.0,
        "error": "1 unapplied migration(s)",
        "unapplied": ["blog.0002_x"],
        "missing_tables": [],
        "replica": False,
        "lag_seconds": None,
    }

    ready = HealthReport({"default": AliasHealth("ok"), "replica": AliasHealth("degraded", replica=True)})
    assert ready.ok and ready.failing == []
    assert set(ready.as_dict()) == {"status", "databases"} and ready.as_dict()["status"] == "ok"


def test_an_alias_of_several_nodes_reports_its_leader_and_standbys_to_insiders_and_only_numbers_to_others() -> None:
    from multidb.health import AliasHealth, HealthReport

    standbys = [{"host": "db-blog-2", "status": "ok", "lag_bytes": 120}, {"host": "db-blog-3", "status": "down"}]
    standbys[1]["lag_bytes"] = None
    report = HealthReport(
        {
            "default": AliasHealth("ok", 1.0),
            "blog_db": AliasHealth("ok", 2.0, nodes=3, leader="db-blog-1", standbys=standbys),
        }
    )

    full, outside = report.as_dict()["databases"], report.summary()["databases"]
    assert "leader" not in full["default"] and "nodes" not in full["default"]  # a plain alias: as before
    assert (full["blog_db"]["nodes"], full["blog_db"]["leader"], full["blog_db"]["standbys"]) == (
        3,
        "db-blog-1",
        standbys,
    )
    assert outside["blog_db"] == {"status": "ok", "nodes": 3, "standby_lag_bytes": [120, None]}
    assert outside["default"] == {"status": "ok"}
    assert report.ok  # a standby down leaves the alias serving from its leader


def test_lsn_positions_are_byte_offsets() -> None:
    from multidb.nodes import lsn_bytes

    assert lsn_bytes("0/0") == 0
    assert lsn_bytes("16/B374D848") == (0x16 << 32) + 0xB374D848
    assert lsn_bytes("1/0") - lsn_bytes("0/FFFFFFFF") == 1


def at_files_in(folder: Path, monkeypatch: pytest.MonkeyPatch, *aliases: str) -> None:
    """Point each alias at `folder`/<alias>.sqlite3, for probes and the process's own connection alike.

    The process's connection too: once a test database exists it is in memory, and check_alias only
    checks connectivity for an alias whose process connection is in memory.
    """
    from django.db import connections

    for alias in aliases:
        name = str(folder / f"{alias}.sqlite3")
        monkeypatch.setitem(connections.settings, alias, {**connections.settings[alias], "NAME": name})
        monkeypatch.setitem(connections[alias].settings_dict, "NAME", name)


def assert_latency(latency_ms: float | None, elapsed_ms: float) -> None:
    """The probe's own round trip in milliseconds, to 0.1 ms: above zero, within the time the call took."""
    assert isinstance(latency_ms, float), latency_ms
    assert 0 < latency_ms <= elapsed_ms, (latency_ms, elapsed_ms)


def test_check_alias_names_a_missing_replica_file_and_an_unmigrated_home(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    django_db_blocker: Any,  # pytest-django DjangoDbBlocker
) -> None:

    from multidb.config import ProjectConfig
    from multidb.health import check_alias
    from multidb.routing import build_routing_table
    from project.settings import INSTALLED_APPS

    databases = {"default": {"name": "a"}, "shop_db": {"name": "s", "apps": ["shop"]}}
    databases["blog_db"] = {"name": "b", "apps": ["blog"], "operations": ["read"]}
    table = build_routing_table(ProjectConfig.model_validate({"databases": databases}), INSTALLED_APPS)
    at_files_in(tmp_path, monkeypatch, "blog_db", "shop_db")  # blog's file is missing, shop's empty
    sqlite3.connect(tmp_path / "shop_db.sqlite3").close()

    replica = check_alias("blog_db", table, 1.0)
    assert (replica.status, replica.replica) == ("down", True)
    assert replica.error == "SQLite database file does not exist; run migrate_all"
    assert not (tmp_path / "blog_db.sqlite3").exists()

    started = time.monotonic()
    with django_db_blocker.unblock():  # the probe's own connection to a file in tmp_path, not the test databases
        home = check_alias("shop_db", table, 1.0)
    elapsed_ms = (time.monotonic() - started) * 1000
    assert (home.status, home.replica) == ("unmigrated", False), home
    assert_latency(home.latency_ms, elapsed_ms)
    assert "shop.0001_initial" in home.unapplied and "auth.0001_initial" in home.unapplied
    assert home.error == f"{len(home.unapplied)} unapplied migration(s); run migrate_all"


def test_check_alias_answers_ok_where_connectivity_is_all_it_can_check(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    django_db_blocker: Any,  # pytest-django DjangoDbBlocker
) -> None:
    """An alias nothing migrates (shop_db here), and one whose history alias is in memory (blog_db's default)."""
    from django.db import connections

    from multidb.config import ProjectConfig
    from multidb.health import check_alias
    from multidb.routing import build_routing_table
    from project.settings import INSTALLED_APPS

    databases = {
        "default": {"name": "a"},
        "blog_db": {"name": "b", "apps": ["blog"], "operations": ["read", "write"], "migrate_to": "default"},
        "shop_db": {"name": "s", "apps": ["shop"], "operations": ["read", "write"]},
    }
    table = build_routing_table(ProjectConfig.model_validate({"databases": databases}), INSTALLED_APPS)
    assert "shop_db" not in table.migratable and table.migratable["blog_db"] == "default"
    monkeypatch.setitem(connections.settings, "default", {**connections.settings["default"], "NAME": ":memory:"})
    at_files_in(tmp_path, monkeypatch, "blog_db", "shop_db")
    for alias in ("blog_db", "shop_db"):  # files that exist, with no tables and no history
        sqlite3.connect(tmp_path / f"{alias}.sqlite3").close()

    for alias in ("blog_db", "shop_db"):
        started = time.monotonic()
        with django_db_blocker.unblock():
            result = check_alias(alias, table, 1.0)
        assert (result.status, result.error, result.unapplied) == ("ok", None, []), (alias, result)
        assert_latency(result.latency_ms, (time.monotonic() - started) * 1000)


def test_check_databases_hands_each_answering_alias_connection_to_inspect(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    django_db_blocker: Any,  # pytest-django DjangoDbBlocker
) -> None:
    """The status page's row counts run through `inspect`: once per alias that answered, on the probe's connection."""

    from multidb import health
    from multidb.config import ProjectConfig
    from multidb.routing import build_routing_table
    from project.settings import INSTALLED_APPS

    databases = {"default": {"name": "a"}, "shop_db": {"name": "s", "apps": ["shop"]}}
    databases["blog_db"] = {"name": "b", "apps": ["blog"], "operations": ["read"]}
    table = build_routing_table(ProjectConfig.model_validate({"databases": databases}), INSTALLED_APPS)
    at_files_in(tmp_path, monkeypatch, "default", "blog_db", "shop_db")
    for alias in ("default", "shop_db"):  # default's and shop's files exist, blog's does not
        sqlite3.connect(tmp_path / f"{alias}.sqlite3").close()
    monkeypatch.setattr(health, "current_table", lambda: table)
    seen: list[tuple[str, str]] = []

    with django_db_blocker.unblock():
        report = health.check_databases(
            5.0, inspect=lambda alias, conn: seen.append((alias, conn.settings_dict["NAME"]))
        )

    assert report.databases["blog_db"].status == "down"
    assert sorted(seen) == [(alias, str(tmp_path / f"{alias}.sqlite3")) for alias in ("default", "shop_db")]


def test_check_databases_answers_within_its_timeout_when_an_alias_hangs(monkeypatch: pytest.MonkeyPatch) -> None:
    from multidb import health
    from multidb.config import ProjectConfig
    from multidb.routing import build_routing_table
    from multidb.status import HealthStatus
    from project.settings import INSTALLED_APPS

    table = build_routing_table(
        ProjectConfig.model_validate({"databases": {"default": {"name": "a"}, "hung": {"name": "h"}}}), INSTALLED_APPS
    )
    release = threading.Event()

    def probe(alias: str, *args: object) -> Any:
        if alias == "hung":
            release.wait(10)  # a database that does not answer within the timeout
        return health.AliasHealth(HealthStatus.OK, 1.0)

    monkeypatch.setattr(health, "current_table", lambda: table)
    monkeypatch.setattr(health, "check_alias", probe)
    started = time.monotonic()
    try:
        report = health.check_databases(0.5)
    finally:
        release.set()

    assert time.monotonic() - started < 5
    assert report.databases["default"].status == "ok"
    assert (report.databases["hung"].status, report.databases["hung"].error) == ("timeout", "no answer within 0.5s")


def test_the_timeout_bounds_the_whole_report_not_each_hung_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three hung aliases cost one timeout in all: each join waits only for what is left of the deadline."""
    from multidb import health
    from multidb.config import ProjectConfig
    from multidb.routing import build_routing_table
    from multidb.status import HealthStatus
    from project.settings import INSTALLED_APPS

    hung = {f"hung{n}": {"name": f"h{n}"} for n in range(3)}
    config = ProjectConfig.model_validate({"databases": {"default": {"name": "a"}, **hung}})
    table = build_routing_table(config, INSTALLED_APPS)
    release = threading.Event()

    def probe(alias: str, *args: object) -> Any:
        release.wait(10)  # answers only after the report is made
        return health.AliasHealth(HealthStatus.OK, 1.0)

    monkeypatch.setattr(health, "current_table", lambda: table)
    monkeypatch.setattr(health, "check_alias", probe)
    started = time.monotonic()
    try:
        report = health.check_databases(0.3)
    finally:
        release.set()

    # Waiting a whole timeout (or a floor of 1 s) per alias would take >= 1.2 s here.
    assert time.monotonic() - started < 1.1
    assert {alias: db.status for alias, db in report.databases.items()} == dict.fromkeys(["default", *hung], "timeout")


def test_probe_connections_are_bounded_by_the_timeout_and_never_pooled(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import connections

    from multidb.health import _fresh_connection

    pg = {**connections.settings["shop_db"], "ENGINE": "django.db.backends.postgresql", "NAME": "x"}
    pg["OPTIONS"] = {"pool": True, "sslmode": "require"}
    monkeypatch.setitem(connections.settings, "shop_db", pg)
    probe = _fresh_connection("shop_db", 2.5)
    assert probe.settings_dict["OPTIONS"] == {"connect_timeout": 3, "sslmode": "require"}
    assert pg["OPTIONS"] == {"pool": True, "sslmode": "require"}  # the request connections' settings are untouched
    assert probe.alias == "shop_db"
    # libpq counts whole seconds, and 0 would mean "wait forever": a short timeout is one second, not none.
    monkeypatch.setitem(connections.settings, "shop_db", {**pg, "OPTIONS": {}})
    assert _fresh_connection("shop_db", 0.4).settings_dict["OPTIONS"] == {"connect_timeout": 1}
    # SQLite waits on a locked file for its own `timeout` (5 s by default): the probe's is the health timeout.
    assert connections.settings["default"]["ENGINE"].endswith("sqlite3")
    assert _fresh_connection("default", 2.5).settings_dict["OPTIONS"]["timeout"] == 2.5


def test_a_replica_is_degraded_only_past_its_lag_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from multidb import health
    from multidb.status import HealthStatus

    def report(lag: float | None) -> Any:
        monkeypatch.setattr(health, "replica_lag", lambda connection: lag)
        return health._replica_health(object(), 1.5, 10.0)  # type: ignore[arg-type]

    assert report(None) == health.AliasHealth(HealthStatus.OK, 1.5, replica=True, lag_seconds=None)
    assert report(10.0) == health.AliasHealth(
        HealthStatus.OK, 1.5, replica=True, lag_seconds=10.0
    )  # at the limit: still used
    assert report(2.12345) == health.AliasHealth(HealthStatus.OK, 1.5, replica=True, lag_seconds=2.123)
    assert report(12.34567) == health.AliasHealth(
        HealthStatus.DEGRADED, 1.5, "lags 12.3s (limit 10s); reads avoid it", replica=True, lag_seconds=12.346
    )


def test_check_alias_on_a_replica_that_answers_or_fails(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    django_db_blocker: Any,  # pytest-django DjangoDbBlocker
) -> None:
    from django.db import connections

    from multidb.config import ProjectConfig
    from multidb.health import check_alias
    from multidb.routing import build_routing_table
    from project.settings import INSTALLED_APPS

    databases = {"default": {"name": "a"}, "blog_db": {"name": "b", "apps": ["blog"], "operations": ["read"]}}
    table = build_routing_table(ProjectConfig.model_validate({"databases": databases}), INSTALLED_APPS)
    replica = tmp_path / "replica.sqlite3"
    monkeypatch.setitem(connections.settings, "blog_db", {**connections.settings["blog_db"], "NAME": str(replica)})

    sqlite3.connect(replica).close()
    started = time.monotonic()
    with django_db_blocker.unblock():
        answers = check_alias("blog_db", table, 1.0)
    assert (answers.status, answers.replica, answers.error, answers.lag_seconds) == ("ok", True, None, None)
    assert_latency(answers.latency_ms, (time.monotonic() - started) * 1000)

    replica.unlink()
    replica.mkdir()  # there, but SQLite cannot open it
    with django_db_blocker.unblock():
        fails = check_alias("blog_db", table, 1.0)
    assert (fails.status, fails.replica, fails.nodes) == ("down", True, 0), fails
    assert fails.error == "OperationalError: unable to open database file", fails


def test_a_down_alias_of_several_nodes_still_says_how_many(
    monkeypatch: pytest.MonkeyPatch,
    django_db_blocker: Any,  # pytest-django DjangoDbBlocker
) -> None:
    from django.db import connections

    from multidb.config import ProjectConfig
    from multidb.health import HealthReport, check_alias
    from multidb.routing import build_routing_table
    from project.settings import INSTALLED_APPS

    table = build_routing_table(ProjectConfig.model_validate({"databases": {"default": {"name": "a"}}}), INSTALLED_APPS)
    closed = free_port()  # nothing listens there: both nodes refuse at once
    pg = {**connections.settings["default"], "ENGINE": "django.db.backends.postgresql", "NAME": "x", "USER": "u"}
    monkeypatch.setitem(connections.settings, "default", {**pg, "HOST": "127.0.0.1,127.0.0.1", "PORT": str(closed)})

    with django_db_blocker.unblock():
        down = check_alias("default", table, 1.0)

    assert (down.status, down.nodes, down.leader, down.standbys) == ("down", 2, None, []), down
    assert down.error is not None and down.error.startswith("OperationalError: "), down.error
    assert str(closed) in down.error  # the driver's own words, for insiders (outsiders get status words only)
    assert HealthReport({"default": down}).summary()["databases"]["default"] == {
        "status": "down",
        "nodes": 2,
        "standby_lag_bytes": [],
    }


# What a driver says when a server refuses: host, address and role name, which outsiders must not learn.
RAW_ERROR = (
    'OperationalError: connection to server at "db-shop.internal" (10.0.0.5), port 5432 failed: '
    'FATAL: password authentication failed for user "shop_app"'
)


@pytest.fixture
def shop_down(monkeypatch: pytest.MonkeyPatch) -> None:
    from multidb import health
    from multidb.status import HealthStatus

    report = health.HealthReport(
        {
            "default": health.AliasHealth(HealthStatus.OK, latency_ms=1.0),
            "shop_db": health.AliasHealth(HealthStatus.DOWN, error=RAW_ERROR),
        }
    )
    monkeypatch.setattr(health, "check_databases", lambda: report)


@pytest.mark.django_db(databases=["default"])
@pytest.mark.parametrize(
    "meta",
    [
        {"REMOTE_ADDR": "203.0.113.9"},  # a client on another host
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"},  # through nginx on the same host
        {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "127.0.0.1"},  # a client claiming to be local
    ],
    ids=["remote", "proxied", "forged-forwarded-for"],
)
def test_readyz_gives_outsiders_status_words_only(shop_down: None, meta: dict[str, str]) -> None:
    from django.test import Client

    response = Client().get("/readyz", **meta)

    assert response.status_code == 503  # the status code is the same for everyone
    assert response.json() == {
        "status": "unavailable",
        "failing": ["shop_db"],
        "databases": {"default": {"status": "ok"}, "shop_db": {"status": "down"}},
    }
    assert "db-shop.internal" not in response.content.decode() and "shop_app" not in response.content.decode()


@pytest.mark.django_db(databases=["default"])
@pytest.mark.parametrize("caller", ["loopback", "staff"])
def test_readyz_gives_local_callers_and_staff_the_error_text(shop_down: None, caller: str) -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    meta = {"REMOTE_ADDR": "127.0.0.1"}
    if caller == "staff":
        client.force_login(User.objects.create_user("operator", is_staff=True))
        meta = {"REMOTE_ADDR": "203.0.113.9"}

    response = client.get("/readyz", **meta)

    assert response.status_code == 503
    assert response.json()["databases"]["shop_db"]["error"] == RAW_ERROR


@pytest.mark.django_db(databases=["default"])
def test_readyz_shows_outsiders_a_replicas_lag_but_not_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.test import Client

    from multidb import health
    from multidb.status import HealthStatus

    report = health.HealthReport(
        {
            "default": health.AliasHealth(HealthStatus.OK, 1.0),
            "blog_replica": health.AliasHealth(
                HealthStatus.DEGRADED, 2.0, "lag 12.5s on db-replica.internal", replica=True, lag_seconds=12.5
            ),
        }
    )
    monkeypatch.setattr(health, "check_databases", lambda: report)

    response = Client().get("/readyz", REMOTE_ADDR="203.0.113.9")

    assert response.json()["databases"]["blog_replica"] == {"status": "degraded", "replica": True, "lag_seconds": 12.5}


@pytest.mark.django_db(databases=["default"])
def test_readyz_gives_a_signed_in_non_staff_user_status_words_only(shop_down: None) -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.create_user("customer"))

    response = client.get("/readyz", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 503
    assert "error" not in response.json()["databases"]["shop_db"]
