"""The status page at `/` on SQLite: counts match the files, a down alias, a replica, shards, who may see it."""

from __future__ import annotations

import http.cookiejar
import re
import shutil
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tests.unit.cli import LOCAL_CONFIG, local_config, manage
from tests.unit.test_health import server_for
from tests.unit.test_sharding import SHARDED

CARD = re.compile(r'<section class="card (\w+)" data-alias="(\w+)">(.*?)</section>', re.S)
ROWS = re.compile(r'data-table="(\w+)">([-\d]+)<')
# Served over plain HTTP by runserver here: no TLS proxy in front, so no redirect to HTTPS or secure-only cookies.
PRODUCTION = (
    "environment: production\nsecret_key: " + "x" * 40 + "\n"
    "security: {behind_proxy: false, secure_cookies: false, ssl_redirect: false}\n"
    + LOCAL_CONFIG.replace("environment: local\n", "")
)


def page(url: str, opener: urllib.request.OpenerDirector | None = None) -> tuple[int, str, str]:
    """(status, final URL, body), following redirects."""
    try:
        with (opener or urllib.request.build_opener()).open(url, timeout=30) as response:
            return response.status, response.url, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, url, error.read().decode()


def cards(html: str) -> dict[str, tuple[str, str, dict[str, str]]]:
    """alias -> (status class, card HTML, table -> rows as shown)."""
    return {alias: (status, body, dict(ROWS.findall(body))) for status, alias, body in CARD.findall(html)}


def count(path: Path, table: str) -> str:
    with sqlite3.connect(path) as db:
        return str(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - test constants


def migrated(config: Path) -> None:
    result = manage("migrate_all", "--skip-makemigrations", config=config)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_card_shows_the_row_counts_in_its_own_database(tmp_path: Path) -> None:
    config = local_config(tmp_path)
    migrated(config)
    seeded = manage("seed", config=config)
    assert seeded.returncode == 0, seeded.stderr
    with server_for(config) as base:
        status, _, html = page(base + "/")

    assert status == 200
    found = cards(html)
    assert list(found) == ["default", "blog_db", "shop_db"]
    assert {alias: card[0] for alias, card in found.items()} == dict.fromkeys(found, "ok")
    files = {"default": "db.sqlite3", "blog_db": "blog.sqlite3", "shop_db": "shop.sqlite3"}
    for alias, tables in (
        ("default", ["auth_user"]),
        ("blog_db", ["blog_post", "blog_comment"]),
        ("shop_db", ["shop_product", "shop_order"]),
    ):
        for table in tables:
            assert found[alias][2][table] == count(tmp_path / files[alias], table) != "0", (alias, table)
    assert "blog_post" not in found["default"][2] and "blog_post" not in found["shop_db"][2]
    assert "default, table multidb_migration_history" in found["blog_db"][1]  # migrate_to: default
    assert "shop_db, table django_migrations" in found["shop_db"][1]
    assert "<td>blog</td><td>blog_db</td><td>blog_db</td><td>blog_db</td><td>default</td>" in html  # dbroutes
    assert re.search(r"<td>shop_db</td><td>ok</td><td>1</td>", html)  # the last migrate_all run


def test_seed_twice_creates_nothing_new(tmp_path: Path) -> None:
    config = local_config(tmp_path)
    migrated(config)
    first = manage("seed", config=config)
    again = manage("seed", config=config)

    assert "blog.Post    3 created, 0 already there  -> blog_db" in first.stdout, first.stdout + first.stderr
    assert "shop.Order   3 created, 0 already there  -> shop_db" in first.stdout
    assert again.stdout.count(" 0 created") == 5, again.stdout
    assert count(tmp_path / "blog.sqlite3", "blog_post") == "3"
    assert count(tmp_path / "db.sqlite3", "auth_user") == "3"


def test_a_down_database_gets_a_down_card_and_the_others_still_render(tmp_path: Path) -> None:
    config = local_config(tmp_path)
    migrated(config)
    assert manage("seed", config=config).returncode == 0
    (tmp_path / "shop.sqlite3").unlink()
    with server_for(config) as base:
        status, _, html = page(base + "/")

    assert status == 200
    found = cards(html)
    assert found["shop_db"][0] == "down"
    assert "SQLite database file does not exist" in found["shop_db"][1]
    assert set(found["shop_db"][2].values()) == {"-"}  # not counted
    assert found["blog_db"][0] == found["default"][0] == "ok"
    assert found["blog_db"][2]["blog_post"] == "3"
    assert "not ready (shop_db)" in html
    assert not (tmp_path / "shop.sqlite3").exists()  # the page does not create it


def test_a_replica_gets_its_own_card_with_its_rows(tmp_path: Path) -> None:
    replica = "  blog_replica:\n    engine: sqlite3\n    name: data/replica.sqlite3\n"
    replica += "    apps: [blog]\n    operations: [read]\n"
    config = local_config(tmp_path, LOCAL_CONFIG + replica)
    migrated(config)
    assert manage("seed", config=config).returncode == 0
    shutil.copy(tmp_path / "blog.sqlite3", tmp_path / "replica.sqlite3")
    with sqlite3.connect(tmp_path / "replica.sqlite3") as db:  # the copy lags one post behind
        db.execute("DELETE FROM blog_comment")
        db.execute("DELETE FROM blog_post WHERE id = (SELECT max(id) FROM blog_post)")
    with server_for(config) as base:
        _, _, html = page(base + "/")

    found = cards(html)
    assert found["blog_replica"][0] == "ok"
    assert "<dd>replica</dd>" in found["blog_replica"][1] and "replica lag" in found["blog_replica"][1]
    assert "never migrated (replica)" in found["blog_replica"][1]
    assert (found["blog_replica"][2]["blog_post"], found["blog_db"][2]["blog_post"]) == ("2", "3")
    assert "<td>blog</td><td>blog_replica</td><td>blog_db</td>" in html  # reads from the replica


def test_every_shard_gets_a_card(tmp_path: Path) -> None:
    config = tmp_path / "sharded.yaml"
    config.write_text(SHARDED.replace("data/", f"{tmp_path}/"))
    migrated(config)
    seeded = manage("seed", config=config)
    assert seeded.returncode == 0, seeded.stderr
    with server_for(config) as base:
        _, _, html = page(base + "/")

    found = cards(html)
    shards = [f"shard_{n}" for n in range(4)]
    assert list(found) == ["default", "shop_db", *shards]
    for shard in shards:
        assert found[shard][0] == "ok" and "shard of posts_by_author" in found[shard][1]
        assert found[shard][2]["blog_post"] == count(tmp_path / f"{shard}.sqlite3", "blog_post")
    assert sum(int(found[shard][2]["blog_post"]) for shard in shards) == 3


def test_outside_development_only_staff_see_the_page(tmp_path: Path) -> None:
    config = local_config(tmp_path, PRODUCTION)
    migrated(config)
    staff = manage(
        "createsuperuser",
        "--noinput",
        "--username",
        "root",
        "--email",
        "r@example.invalid",
        config=config,
        env={"DJANGO_SUPERUSER_PASSWORD": "s3cret-enough-for-a-test"},
    )
    assert staff.returncode == 0, staff.stderr
    with server_for(config) as base:
        status, url, html = page(base + "/")
        assert status == 200 and urllib.parse.urlsplit(url).path == "/admin/login/"
        assert 'class="card' not in html

        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        _, _, form = page(base + "/admin/login/?next=/", opener)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
        assert token
        fields = {
            "csrfmiddlewaretoken": token[1],
            "username": "root",
            "password": "s3cret-enough-for-a-test",
            "next": "/",
        }
        request = urllib.request.Request(base + "/admin/login/?next=/", urllib.parse.urlencode(fields).encode())
        request.add_header("Referer", base + "/admin/login/")
        with opener.open(request, timeout=30) as response:
            assert urllib.parse.urlsplit(response.url).path == "/"
            assert response.read().decode().count('class="card ok"') == 3


def test_status_page_public_opens_it_to_everyone(tmp_path: Path) -> None:
    config = local_config(tmp_path, PRODUCTION + "status_page: public\n")
    migrated(config)
    with server_for(config) as base:
        status, url, html = page(base + "/")
    assert status == 200 and urllib.parse.urlsplit(url).path == "/"
    assert html.count('class="card ok"') == 3
