"""Replica routing on SQLite copies: reads go to the replica, writes pin reads to the home, failover, health."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import urllib.request
from pathlib import Path

import pytest

from tests.unit.cli import manage
from tests.unit.test_health import server_for

REPLICATED = """
environment: local
databases:
  default: {engine: sqlite3, name: data/db.sqlite3}
  blog_db: {engine: sqlite3, name: data/blog.sqlite3, apps: [blog], operations: [read, write, migrate]}
  blog_replica: {engine: sqlite3, name: REPLICA, apps: [blog], operations: [read]}
routing:
  replica_cooldown_seconds: 60
"""


def replicated(tmp_path: Path, replica: str = "data/replica.sqlite3") -> Path:
    """A config whose blog_replica is a copy of blog_db's file holding one extra post only it has."""
    config = tmp_path / "replicated.yaml"
    config.write_text(REPLICATED.replace("REPLICA", replica).replace("data/", f"{tmp_path}/"))
    result = manage("migrate_all", "--skip-makemigrations", config=config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "blog_replica  skipped: replica, never migrated" in result.stdout
    if replica.startswith("data/"):
        shutil.copy(tmp_path / "blog.sqlite3", tmp_path / "replica.sqlite3")
        with sqlite3.connect(tmp_path / "replica.sqlite3") as db:
            db.execute(
                "INSERT INTO blog_post (title, content, author_id, created_at)"
                " VALUES ('only-on-replica', '', 1, '2026-01-01')"
            )
    return config


READ_WRITE_READ = """
from django.contrib.auth.models import User
from apps.blog.models import Post
seen = lambda: Post.objects.filter(title="only-on-replica").exists()
print("before write:", seen())
Post(title="mine", content="c", author=User.objects.create_user("w")).save()
print("after write:", seen(), Post.objects.filter(title="mine").exists())
"""


def test_reads_go_to_the_replica_until_a_write_pins_them_to_the_home(tmp_path: Path) -> None:
    result = manage("shell", "-c", READ_WRITE_READ, config=replicated(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "before write: True" in result.stdout  # served by the replica
    assert "after write: False True" in result.stdout  # read-your-writes: the home, which has the new post


def test_a_replica_that_cannot_connect_is_skipped(tmp_path: Path) -> None:
    config = replicated(tmp_path, replica=f"{tmp_path}/missing-dir/replica.sqlite3")
    script = "from apps.blog.models import Post\nprint('count:', Post.objects.count(), Post.objects.count())"
    result = manage("shell", "-c", script, config=config)
    assert result.returncode == 0, result.stderr
    assert "count: 0 0" in result.stdout
    assert "replica blog_replica unavailable, reading from blog_db for 60s" in result.stderr


REPLICA_DIES = """
import os
from django.db import connections
from apps.blog.models import Post
print("first:", Post.objects.filter(title="only-on-replica").exists())
connections.close_all()  # the request ends
os.rename("{directory}", "{directory}-gone")  # the replica goes away, long before its next check is due
print("second:", Post.objects.filter(title="only-on-replica").exists())
"""


def test_a_replica_that_stops_between_checks_is_skipped_at_the_next_read(tmp_path: Path) -> None:
    config = replicated(tmp_path)
    directory = tmp_path / "replica-dir"
    directory.mkdir()
    (tmp_path / "replica.sqlite3").rename(directory / "replica.sqlite3")
    config.write_text(config.read_text().replace(f"{tmp_path}/replica.sqlite3", f"{directory}/replica.sqlite3"))

    result = manage("shell", "-c", REPLICA_DIES.format(directory=directory), config=config)

    assert result.returncode == 0, result.stderr
    assert "first: True" in result.stdout  # the replica served the first read
    assert "second: False" in result.stdout  # the home served the second: no error reached the caller
    assert "replica blog_replica unavailable, reading from blog_db for 60s" in result.stderr


def test_health_reports_a_down_replica_without_making_the_app_unready(tmp_path: Path) -> None:
    config = replicated(tmp_path, replica=f"{tmp_path}/missing-dir/replica.sqlite3")
    result = manage("dbhealth", "--json", config=config)
    assert result.returncode == 0, result.stdout
    body = json.loads(result.stdout)
    assert body["status"] == "ok"
    assert body["databases"]["blog_replica"]["status"] == "down"
    assert body["databases"]["blog_replica"]["replica"] is True


@pytest.fixture
def replicated_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    config = replicated(tmp_path)
    script = "from django.contrib.auth.models import User; User.objects.create_user('alice', password='pw-alice')"
    assert manage("shell", "-c", script, config=config).returncode == 0
    with server_for(config) as base:
        yield base


def test_the_same_client_reads_its_new_post_immediately(replicated_server: str) -> None:
    base = replicated_server
    auth = {"Authorization": "Basic " + base64.b64encode(b"alice:pw-alice").decode()}
    create = urllib.request.Request(
        base + "/api/posts/",
        data=json.dumps({"title": "fresh", "content": "c"}).encode(),
        headers={**auth, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(create, timeout=10) as response:
        cookie = response.headers["Set-Cookie"].split(";")[0]
    assert cookie == "multidb_rw=blog_db"

    def titles(headers: dict[str, str]) -> set[str]:
        with urllib.request.urlopen(urllib.request.Request(base + "/api/posts/", headers=headers), timeout=10) as r:
            return {post["title"] for post in json.loads(r.read())["results"]}

    assert "fresh" in titles({"Cookie": cookie})  # pinned to blog_db by the cookie
    assert titles({}) == {"only-on-replica"}  # another client reads the (unreplicated) copy


# Reads of "only-on-replica" are True on the replica, False on the home; use_home() pins them to the home.
USE_HOME = """
import asyncio, threading
from asgiref.sync import sync_to_async
from apps.blog.models import Post
from multidb.replicas import use_home
seen = lambda: Post.objects.filter(title="only-on-replica").exists()
print("outside:", seen())
with use_home():
    print("inside:", seen())
    with use_home():
        print("nested:", seen())
    print("after nested:", seen())
    other = []
    thread = threading.Thread(target=lambda: other.append(seen()))
    thread.start(); thread.join()
    print("other thread:", other[0])
print("after:", seen())

@use_home
def bare(): return seen()

@use_home()
def called(): return seen()

print("decorated:", bare(), called(), seen())

async def pinned():
    with use_home():
        await asyncio.sleep(0.01)  # the other task runs meanwhile, unpinned
        return await sync_to_async(seen)()

@use_home
async def decorated_async():
    await asyncio.sleep(0.01)
    return await sync_to_async(seen)()

async def free():
    await asyncio.sleep(0.005)
    return await sync_to_async(seen)()

async def main():
    return await asyncio.gather(pinned(), free(), decorated_async(), free())

print("tasks:", asyncio.run(main()))
"""


def test_use_home_pins_reads_to_the_home_per_thread_and_task(tmp_path: Path) -> None:
    result = manage("shell", "-c", USE_HOME, config=replicated(tmp_path))

    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert lines["outside"] == "True"  # the replica
    assert lines["inside"] == lines["nested"] == lines["after nested"] == "False"  # the home, even after a nested exit
    assert lines["other thread"] == "True"  # another thread is not pinned by this one's block
    assert lines["after"] == "True"
    assert lines["decorated"] == "False False True"
    assert lines["tasks"] == "[False, True, False, True]"  # pinned tasks on the home, the others on the replica


TWO_HOMES = """
environment: local
databases:
  default: {engine: sqlite3, name: data/db.sqlite3}
  blog_db: {engine: sqlite3, name: data/blog.sqlite3, apps: [blog], operations: [read, write, migrate]}
  blog_replica: {engine: sqlite3, name: data/blog_replica.sqlite3, apps: [blog], operations: [read]}
  shop_db: {engine: sqlite3, name: data/shop.sqlite3, apps: [shop], operations: [read, write, migrate]}
  shop_replica: {engine: sqlite3, name: data/shop_replica.sqlite3, apps: [shop], operations: [read]}
"""

WHERE_READS_GO = """
from django.db import router
from apps.blog.models import Post
from apps.shop.models import Product
print("reads:", router.db_for_read(Post), router.db_for_read(Product))
"""


def test_each_replicated_home_reads_from_its_own_replicas(tmp_path: Path) -> None:
    config = tmp_path / "two-homes.yaml"
    config.write_text(TWO_HOMES.replace("data/", f"{tmp_path}/"))
    migrated = manage("migrate_all", "--skip-makemigrations", config=config)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    for home in ("blog", "shop"):
        shutil.copy(tmp_path / f"{home}.sqlite3", tmp_path / f"{home}_replica.sqlite3")

    result = manage("shell", "-c", WHERE_READS_GO, config=config)

    assert result.returncode == 0, result.stderr
    assert "reads: blog_replica shop_replica" in result.stdout, result.stdout
