"""Shard key strategies (properties) and the shard helper; rows land on the shard it names and no other."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from multidb.sharding import STRATEGIES, jump, key_to_int, modulo
from tests.unit.cli import LOCAL_CONFIG, manage

KEYS = st.integers(min_value=0, max_value=2**63 - 1)


@given(key=KEYS, buckets=st.integers(min_value=1, max_value=64))
def test_every_strategy_is_stable_and_in_range(key: int, buckets: int) -> None:
    for strategy in STRATEGIES.values():
        first = strategy(key, buckets)
        assert 0 <= first < buckets
        assert strategy(key, buckets) == first


@given(key=KEYS, buckets=st.integers(min_value=1, max_value=64))
def test_jump_moves_a_key_only_to_the_new_shard(key: int, buckets: int) -> None:
    before, after = jump(key, buckets), jump(key, buckets + 1)
    assert after in (before, buckets)


@settings(max_examples=20, deadline=None)  # 20,000 keys per example: wall time depends on the shared CPU, not the code
@given(start=st.integers(min_value=0, max_value=2**40))
def test_spread_and_movement_when_growing_from_4_to_5(start: int) -> None:
    keys = range(start, start + 20_000)
    counts = [0] * 4
    for key in keys:
        counts[jump(key, 4)] += 1
    assert max(counts) / min(counts) < 1.1  # even within 10%
    moved_jump = sum(jump(k, 4) != jump(k, 5) for k in keys) / len(keys)
    moved_modulo = sum(modulo(k, 4) != modulo(k, 5) for k in keys) / len(keys)
    assert moved_jump <= 1.2 / 5
    assert moved_modulo >= 0.75  # the guide's modulo reshuffles most keys


def test_non_integer_keys_hash_stably() -> None:
    assert key_to_int("alice") == key_to_int("alice") != key_to_int("bob")
    assert key_to_int(7) == 7


SHARDED = """
environment: local
databases:
  default: {engine: sqlite3, name: data/db.sqlite3}
  shop_db: {engine: sqlite3, name: data/shop.sqlite3, apps: [shop]}
  shard_0: {engine: sqlite3, name: data/shard_0.sqlite3}
  shard_1: {engine: sqlite3, name: data/shard_1.sqlite3}
  shard_2: {engine: sqlite3, name: data/shard_2.sqlite3}
  shard_3: {engine: sqlite3, name: data/shard_3.sqlite3}
shards:
  posts_by_author:
    aliases: [shard_0, shard_1, shard_2, shard_3]
    apps: [blog]
    key: author_id
    strategy: jump
"""

PLACE_POSTS = """
from django.contrib.auth.models import User
from apps.blog.models import Post, Comment
from multidb.sharding import shard_for, ShardKeyMissingError
for name in ["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"]:
    user = User.objects.create_user(name)
    post = Post(title=name, content="c", author=user)
    post.save()  # the instance carries the key (objects.create() does not: Django routes it first)
    Comment(post=post, author=user, content="c").save()
    assert post._state.db == shard_for(Post, user.pk), (post._state.db, shard_for(Post, user.pk))
    assert [p.title for p in user.blog_posts.all()] == [name]  # related manager finds the shard
for attempt in (lambda: Post.objects.count(), lambda: Post.objects.create(title="x", content="c", author=user)):
    try:
        attempt()
    except ShardKeyMissingError as error:
        print("refused:", error)
print("placed:", {u.username: shard_for(Post, u.pk) for u in User.objects.all()})
"""


def test_rows_land_on_the_shard_the_helper_names_and_no_other(tmp_path: Path) -> None:
    import sqlite3

    config = tmp_path / "sharded.yaml"
    config.write_text(SHARDED.replace("data/", f"{tmp_path}/"))
    migrated = manage("migrate_all", "--skip-makemigrations", config=config)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    for shard in range(4):
        assert f"shard_{shard}  ok      1 applied" in migrated.stdout  # blog.0001 on every shard

    result = manage("shell", "-c", PLACE_POSTS, config=config)
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.count("refused: blog.Post is sharded by author_id over shard_0, shard_1, shard_2, shard_3") == 2
    )
    placed = eval(result.stdout.split("placed: ")[1])  # noqa: S307 - our own printed dict
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        user_ids = dict(db.execute("SELECT username, id FROM auth_user"))
    for shard in range(4):
        with sqlite3.connect(tmp_path / f"shard_{shard}.sqlite3") as db:
            titles = {row[0] for row in db.execute("SELECT title FROM blog_post")}
            comment_authors = {row[0] for row in db.execute("SELECT author_id FROM blog_comment")}
        expected = {name for name, alias in placed.items() if alias == f"shard_{shard}"}
        assert titles == expected
        assert comment_authors == {user_ids[name] for name in expected}
    assert len(set(placed.values())) > 1  # 8 users spread over more than one shard


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("aliases: [shard_0, shard_1, shard_2, shard_3]", "aliases: [shard_0, shard_9]"),
        ("apps: [blog]", "apps: [shop]"),
        ("strategy: jump", "strategy: ring"),
    ],
)
def test_bad_shard_groups_are_config_errors(tmp_path: Path, change: str, words: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(SHARDED.replace(change, words).replace("data/", f"{tmp_path}/"))
    result = manage("check", config=config)
    assert result.returncode == 2
    assert result.stderr.startswith(f"config error: {config}: shards.posts_by_author."), result.stderr


def test_local_config_is_not_sharded() -> None:
    assert "shards" not in LOCAL_CONFIG


def sharded_config(tmp_path: Path, key: str = "author_id") -> Path:
    """SHARDED in `tmp_path` with the group's key spelled `key`, migrated."""
    config = tmp_path / "sharded.yaml"
    config.write_text(SHARDED.replace("key: author_id", f"key: {key}").replace("data/", f"{tmp_path}/"))
    migrated = manage("migrate_all", "--skip-makemigrations", config=config)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    return config


def shard_rows(tmp_path: Path, query: str) -> dict[str, set[tuple[object, ...]]]:
    """`query`'s rows on each shard's SQLite file, read with sqlite3 alone (not through the router)."""
    import sqlite3

    found = {}
    for shard in range(4):
        with sqlite3.connect(tmp_path / f"shard_{shard}.sqlite3") as db:
            found[f"shard_{shard}"] = set(db.execute(query))
    return found


# Posts saved three ways (instance, related manager, related manager create) by eight users; prints each user's
# id and the shard shard_for names, by pk and by the user object.
PLACE_BY_KEY = """
import json
from django.contrib.auth.models import User
from apps.blog.models import Post
from multidb.sharding import shard_for
named = {}
for index in range(8):
    user = User.objects.create_user(f"k{index}")
    Post(title=f"saved-{user.pk}", content="c", author=user).save()
    user.blog_posts.create(title=f"created-{user.pk}", content="c")
    assert shard_for(Post, user) == shard_for(Post, user.pk)
    assert {p.title for p in user.blog_posts.all()} == {f"saved-{user.pk}", f"created-{user.pk}"}
    named[user.pk] = shard_for(Post, user.pk)
print("named:", json.dumps(named))
"""


@pytest.mark.parametrize("key", ["author_id", "author"])
def test_either_spelling_of_the_key_places_rows_on_the_shard_shard_for_names(tmp_path: Path, key: str) -> None:
    import json

    config = sharded_config(tmp_path, key)

    result = manage("shell", "-c", PLACE_BY_KEY, config=config)

    assert result.returncode == 0, result.stderr
    named = {int(user): alias for user, alias in json.loads(result.stdout.split("named: ")[1]).items()}
    on_disk = shard_rows(tmp_path, "SELECT author_id, title FROM blog_post")
    for shard, rows in on_disk.items():
        users = sorted(user for user, alias in named.items() if alias == shard)
        assert rows == {(user, f"{how}-{user}") for user in users for how in ("saved", "created")}, shard
    assert len(set(named.values())) > 1


# Bob comments on Alice's post, Alice and Bob on different shards: the comment goes where the post is.
CROSS_SHARD_COMMENT = """
from django.contrib.auth.models import User
from apps.blog.models import Comment, Post
from multidb.sharding import ShardKeyMissingError, ShardMismatchError, shard_for
alice = User.objects.create_user("alice")
bobs = (User.objects.create_user(f"bob{i}") for i in range(20))
bob = next(u for u in bobs if shard_for(Post, u) != shard_for(Post, alice))
post = Post(title="alice's", content="c", author=alice)
post.save()
Comment(post=post, author=bob, content="saved").save()
post.comments.create(author=bob, content="through the post")
attempts = {
    "explicit using": lambda: Comment.objects.using(shard_for(Post, bob)).create(post=post, author=bob, content="bad"),
    "author's manager": lambda: bob.blog_comments.create(post=post, content="bad"),
    "author's comments": lambda: list(bob.blog_comments.all()),
    "post by id only": lambda: Comment(post_id=post.pk, author=bob, content="bad").save(),
}
for name, attempt in attempts.items():
    try:
        attempt()
        print("accepted:", name)
    except (ShardMismatchError, ShardKeyMissingError) as error:
        print("refused:", name, "--", error)
print("read back:", sorted(c.content for c in post.comments.all()))
print("shards:", shard_for(Post, alice), shard_for(Post, bob), post.pk, bob.pk)
"""


def test_a_comment_goes_to_its_posts_shard_not_its_authors(tmp_path: Path) -> None:
    config = sharded_config(tmp_path)

    result = manage("shell", "-c", CROSS_SHARD_COMMENT, config=config)

    assert result.returncode == 0, result.stderr
    post_shard, bob_shard, post_id, bob_id = result.stdout.split("shards: ")[1].split()
    assert post_shard != bob_shard
    comments = shard_rows(tmp_path, "SELECT post_id, author_id, content FROM blog_comment")
    assert comments[post_shard] == {
        (int(post_id), int(bob_id), "saved"),
        (int(post_id), int(bob_id), "through the post"),
    }
    assert all(not rows for shard, rows in comments.items() if shard != post_shard)  # nothing misplaced, no "bad"
    assert "read back: ['saved', 'through the post']" in result.stdout
    assert "accepted:" not in result.stdout
    assert f"refused: explicit using -- blog.Comment row belongs on {post_shard}" in result.stdout
    assert f"refused: author's manager -- blog.Comment row belongs on {post_shard}" in result.stdout
    assert "refused: author's comments -- blog.Comment rows live on their post's shard" in result.stdout
    assert "refused: post by id only -- blog.Comment rows live on their post's shard" in result.stdout


DELETE_A_COMMENTER = """
from django.contrib.auth.models import User
from apps.blog.models import Post, Comment
users = [User.objects.create_user(f"d{index}") for index in range(8)]
posts = []
for user in users:
    post = Post(title=user.username, content="c", author=user)
    post.save()
    posts.append(post)
for index, post in enumerate(posts):  # d0 comments on every other author's post, whatever their shard
    if index:
        Comment(post=post, author=users[0], content="by d0").save()
users[0].delete()
print("deleted:", users[0].username)
"""


def test_deleting_a_user_removes_their_comments_from_every_shard(tmp_path: Path) -> None:
    import sqlite3

    config = tmp_path / "sharded.yaml"
    config.write_text(SHARDED.replace("data/", f"{tmp_path}/"))
    assert manage("migrate_all", "--skip-makemigrations", config=config).returncode == 0

    result = manage("shell", "-c", DELETE_A_COMMENTER, config=config)

    assert result.returncode == 0, result.stderr  # the pre_delete cascade asks every shard, not the router
    assert "deleted: d0" in result.stdout
    left = {"comments": 0, "posts": 0, "others' posts": 0}
    for shard in range(4):
        with sqlite3.connect(tmp_path / f"shard_{shard}.sqlite3") as db:
            left["comments"] += db.execute("SELECT COUNT(*) FROM blog_comment").fetchone()[0]
            left["posts"] += db.execute("SELECT COUNT(*) FROM blog_post WHERE title = 'd0'").fetchone()[0]
            left["others' posts"] += db.execute("SELECT COUNT(*) FROM blog_post WHERE title != 'd0'").fetchone()[0]
    assert left == {"comments": 0, "posts": 0, "others' posts": 7}
