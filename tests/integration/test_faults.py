"""Faults: shop's server stops (or hangs) while the app runs or while migrate_all runs.

These tests stop a container, so shop lives on a server of their own; main and blog use fresh databases
on the shared servers. Whatever happens, the finalizer brings shop's server back and waits for a query.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.appserver import orm, serving
from tests.integration.postgres import Server, fresh_targets, running_servers, write_config
from tests.integration.stack import Stack

TIMEOUT = 1.0  # health.timeout in these tests' config: seconds /readyz waits for each alias


@pytest.fixture(scope="module")
def shop_server(docker_engine: None) -> Iterator[Server]:
    with running_servers(("shop",)) as started:
        yield started["shop"]


@pytest.fixture
def faulty(servers: dict[str, Server], shop_server: Server, tmp_path: Path) -> Iterator[Stack]:
    """Fresh databases, shop's on the server these tests may stop; nothing migrated."""
    targets = fresh_targets({**servers, "shop": shop_server}, "f" + secrets.token_hex(4))
    try:
        yield Stack(write_config(tmp_path / "faults.yaml", targets, health_timeout=TIMEOUT), targets)
    finally:
        shop_server.ensure_running()


def summary(stdout: str) -> dict[str, str]:
    """The last three lines of migrate_all's output: alias -> the rest of its line."""
    lines = stdout.strip().splitlines()[-3:]
    return {line.split()[0]: line.split(None, 1)[1] for line in lines}


def test_migrate_all_with_shop_down_migrates_the_others_then_a_rerun_converges(
    faulty: Stack, shop_server: Server
) -> None:
    shop_server.stop()

    down = faulty.manage("migrate_all")

    assert down.returncode == 1
    assert down.stderr.strip().splitlines()[-1].startswith("CommandError: migrate_all failed on shop_db (1 of 3")
    assert "Traceback" not in down.stderr
    lines = summary(down.stdout)
    assert lines["default"].startswith("ok") and lines["blog_db"].startswith("ok")
    assert lines["shop_db"].startswith("failed: OperationalError")
    assert {"auth_user", "django_migrations"} <= faulty.tables("default")
    assert {"blog_post", "blog_comment"} == faulty.tables("blog_db")

    shop_server.start()  # returns once a query answers
    rerun = faulty.manage("migrate_all")
    again = faulty.manage("migrate_all")

    assert rerun.returncode == 0, rerun.stderr
    lines = summary(rerun.stdout)
    assert "nothing to apply" in lines["default"] and "nothing to apply" in lines["blog_db"]
    assert lines["shop_db"].startswith("ok      1 applied")
    assert {"shop_product", "shop_order"} <= faulty.tables("shop_db")
    assert again.returncode == 0 and all("nothing to apply" in line for line in summary(again.stdout).values())


def test_with_shop_stopped_readyz_names_it_quickly_while_blog_and_main_keep_working(
    faulty: Stack, shop_server: Server
) -> None:
    assert faulty.manage("migrate_all").returncode == 0
    mark = "fault" + secrets.token_hex(4)
    orm(
        f"from django.contrib.auth.models import User; User.objects.create_user('{mark}', password='pw'); print(1)",
        config=faulty.config,
    )
    with serving(faulty.config) as app:
        assert app.get("/readyz")[0] == 200
        shop_server.stop()  # mid-run: the app keeps running

        started = time.monotonic()
        status, ready = app.get("/readyz")
        elapsed = time.monotonic() - started
        posted = app.post("/api/posts/", {"title": mark, "content": "shop is down"}, (mark, "pw"))
        listed = app.get("/api/posts/", (mark, "pw"))

        assert (status, ready["failing"]) == (503, ["shop_db"])
        assert ready["databases"]["shop_db"]["status"] == "down"
        assert elapsed <= TIMEOUT, f"/readyz took {elapsed:.2f}s with a refused connection"
        assert posted[0] == 201, posted
        assert listed[0] == 200 and listed[1]["results"][0]["title"] == mark
        assert faulty.rows("blog_db", "SELECT count(*) FROM blog_post WHERE title = %s", [mark]) == [(1,)]

        shop_server.start()
        assert app.get("/readyz")[0] == 200  # recovers without restarting the app


def test_with_shop_hung_readyz_answers_within_its_timeout(faulty: Stack, shop_server: Server) -> None:
    assert faulty.manage("migrate_all").returncode == 0
    with serving(faulty.config) as app:
        shop_server.pause()  # accepts TCP (the kernel does) but never answers: the slow kind of failure

        started = time.monotonic()
        status, ready = app.get("/readyz")
        elapsed = time.monotonic() - started

    assert (status, ready["failing"]) == (503, ["shop_db"])
    assert ready["databases"]["shop_db"]["status"] in ("timeout", "down")
    assert {alias: ready["databases"][alias]["status"] for alias in ("default", "blog_db")} == {
        "default": "ok",
        "blog_db": "ok",
    }
    # One timeout, not one per alias or per probe step (bench/readyz_timeout.py measures the ratio).
    assert elapsed <= 1.5 * TIMEOUT, f"/readyz took {elapsed:.2f}s with a {TIMEOUT}s timeout"
