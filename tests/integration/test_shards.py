"""Sharding by author on PostgreSQL: four shard databases in one server, checked database by database (psycopg)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.appserver import manage, orm
from tests.integration.postgres import SECRET_KEY, Server, Target
from tests.integration.stack import Stack

SHARDS = tuple(f"shard_{index}" for index in range(4))

# Posts and comments of eight new authors, saved through the ORM with no .using(): the router places each by
# its author_id. Prints author id -> the alias the helper names, and what each author's related manager reads.
PLACE_POSTS = """
import json
from django.contrib.auth.models import User
from apps.blog.models import Comment, Post
from multidb.sharding import shard_for
placed, read_back = {{}}, {{}}
for index in range(8):
    user = User.objects.create_user(f"{mark}-{{index}}")
    post = Post(title="{mark}", content="c", author=user)
    post.save()
    Comment(post=post, author=user, content="{mark}").save()
    placed[user.pk] = shard_for(Post, user.pk)
    read_back[user.pk] = [[p.title, [c.content for c in p.comments.all()]] for p in user.blog_posts.all()]
print(json.dumps({{"placed": placed, "read_back": read_back}}))
"""


@pytest.fixture(scope="module")
def sharded(servers: dict[str, Server], tmp_path_factory: pytest.TempPathFactory) -> tuple[Stack, str]:
    """default and shop_db on their servers, shard_0..shard_3 as four databases of blog's server; migrate_all run."""
    prefix = "s" + secrets.token_hex(4)
    places = {"default": ("main", "main"), "shop_db": ("shop", "shop")}
    places.update({shard: ("blog", shard) for shard in SHARDS})
    targets = {}
    for alias, (service, name) in places.items():
        servers[service].create_database(f"{prefix}_{name}")
        targets[alias] = Target(servers[service], f"{prefix}_{name}")
    stack = Stack(write_sharded_config(tmp_path_factory.mktemp("shards") / "sharded.yaml", targets), targets)
    migrated = stack.manage("migrate_all")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    return stack, migrated.stdout


def write_sharded_config(path: Path, targets: dict[str, Target]) -> Path:
    """The README's sharding example: blog's posts spread over four shards by author_id, jump hashing."""
    databases: dict[str, Any] = {
        alias: {
            "engine": "postgresql",
            "name": target.dbname,
            "user": target.user,
            "password": target.server.password,
            "host": target.server.host,
            "port": target.server.port,
        }
        for alias, target in targets.items()
    }
    databases["shop_db"]["apps"] = ["shop"]
    config = {
        "environment": "test",
        "secret_key": SECRET_KEY,
        "databases": databases,
        "shards": {"posts_by_author": {"aliases": list(SHARDS), "apps": ["blog"], "key": "author_id"}},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_migrate_all_creates_the_blog_tables_on_every_shard_and_nowhere_else(sharded: tuple[Stack, str]) -> None:
    stack, output = sharded

    for shard in SHARDS:
        assert f"{shard}  ok      1 applied" in output  # blog.0001_initial, history in the shard itself
        assert stack.tables(shard) == {"blog_post", "blog_comment", "django_migrations"}
    assert "blog_post" not in stack.tables("default") | stack.tables("shop_db")


def test_each_post_lands_on_the_shard_the_helper_names_and_on_no_other(sharded: tuple[Stack, str]) -> None:
    stack, _ = sharded
    mark = "shard" + secrets.token_hex(4)

    result = orm(PLACE_POSTS.format(mark=mark), config=stack.config)

    placed = {int(author): alias for author, alias in result["placed"].items()}
    for shard in SHARDS:
        posts = stack.rows(shard, "SELECT author_id FROM blog_post WHERE title = %s", [mark])
        comments = stack.rows(shard, "SELECT author_id FROM blog_comment WHERE content = %s", [mark])
        expected = sorted(author for author, alias in placed.items() if alias == shard)
        assert sorted(row[0] for row in posts) == expected, shard
        assert sorted(row[0] for row in comments) == expected, shard
    assert len(set(placed.values())) > 1  # eight authors spread over more than one shard
    # Reads need the key too: each author's related managers found their post and its comment on the shard.
    assert all(posts == [[mark, [mark]]] for posts in result["read_back"].values()), result["read_back"]


def test_dbhealth_covers_every_shard(sharded: tuple[Stack, str], servers: dict[str, Server], tmp_path: Path) -> None:
    stack, _ = sharded
    healthy = manage("dbhealth", "--json", config=stack.config)

    # shard_2 pointed at an empty database: only health that looks at every shard notices.
    empty = Target(servers["blog"], "e" + secrets.token_hex(4))
    servers["blog"].create_database(empty.dbname)
    config = write_sharded_config(tmp_path / "one-empty.yaml", {**stack.targets, "shard_2": empty})
    unhealthy = manage("dbhealth", "--json", config=config)

    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    statuses = {alias: db["status"] for alias, db in json.loads(healthy.stdout)["databases"].items()}
    assert statuses == dict.fromkeys(["default", "shop_db", *SHARDS], "ok")
    assert unhealthy.returncode == 1
    report = json.loads(unhealthy.stdout)
    assert report["failing"] == ["shard_2"]
    assert report["databases"]["shard_2"]["status"] == "unmigrated"
    assert "blog.0001_initial" in report["databases"]["shard_2"]["unapplied"]


# Eight authors each comment on the next author's post (a different shard for most): no .using() anywhere.
COMMENT_ON_OTHERS = """
import json
from django.contrib.auth.models import User
from apps.blog.models import Comment, Post
from multidb.sharding import shard_for
users = [User.objects.create_user(f"{mark}-{{index}}") for index in range(8)]
posts = [Post(title="{mark}", content="c", author=user) for user in users]
for post in posts:
    post.save()
for index, user in enumerate(users):
    Comment(post=posts[(index + 1) % 8], author=user, content="{mark}").save()
print(json.dumps({{"posts": [[shard_for(Post, post.author_id), post.pk] for post in posts],
                   "commenters": [shard_for(Post, user.pk) for user in users]}}))
"""


def test_a_comment_on_another_authors_post_lands_on_the_posts_shard(sharded: tuple[Stack, str]) -> None:
    stack, _ = sharded
    mark = "cross" + secrets.token_hex(4)

    result = orm(COMMENT_ON_OTHERS.format(mark=mark), config=stack.config)

    posts = {(alias, pk) for alias, pk in result["posts"]}  # ids repeat across shards: each has its own sequence
    found = 0
    for shard in SHARDS:
        # Each comment's post_id names a post of this run on the comment's own shard (a join on that shard alone).
        rows = stack.rows(
            shard,
            "SELECT c.post_id, p.id FROM blog_comment c LEFT JOIN blog_post p ON p.id = c.post_id AND p.title = %s"
            " WHERE c.content = %s",
            [mark, mark],
        )
        assert all(post == joined and (shard, post) in posts for post, joined in rows), (shard, rows)
        found += len(rows)
    assert found == 8
    assert len(set(result["commenters"])) > 1  # the commenters are spread too, so this crossed shards
