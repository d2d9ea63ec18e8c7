"""The router's decisions through django.db.router, as the guide's "Routing Issues" section checks them."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import router
from django.test import override_settings

from apps.blog.models import Comment, Post
from apps.shop.models import Order, Product
from multidb.config import ProjectConfig
from multidb.router import ConfigRouter
from multidb.routing import build_routing_table
from project.settings import INSTALLED_APPS
from tests.unit.cli import local_config, manage


def table_for(databases: dict[str, dict[str, object]], **extra: object) -> object:
    return build_routing_table(ProjectConfig.model_validate({"databases": databases, **extra}), INSTALLED_APPS)


def test_router_sends_blog_writes_and_reads_to_blog_db() -> None:
    assert router.db_for_write(Post) == "blog_db"
    assert router.db_for_read(Comment) == "blog_db"


def test_router_sends_shop_to_shop_db_and_auth_to_default() -> None:
    assert router.db_for_write(Product) == router.db_for_read(Order) == "shop_db"
    assert router.db_for_write(User) == router.db_for_read(User) == "default"


@pytest.mark.parametrize(
    ("db", "app", "allowed"),
    [
        ("default", "auth", True),
        ("blog_db", "auth", False),
        ("shop_db", "auth", False),
        ("blog_db", "blog", True),
        ("default", "blog", False),
        ("shop_db", "blog", False),
        ("shop_db", "shop", True),
        ("default", "shop", False),
        ("blog_db", "shop", False),
        ("default", "not_an_app", True),
        ("shop_db", "not_an_app", False),
    ],
)
def test_allow_migrate_only_on_the_apps_home(db: str, app: str, allowed: bool) -> None:
    assert router.allow_migrate(db, app) is allowed


def test_relations_across_homes_follow_the_config_switch() -> None:
    user, post = User(), Post()
    user._state.db, post._state.db = "default", "blog_db"
    assert router.allow_relation(user, post) is True
    strict = table_for(
        {"default": {"name": "a"}, "blog_db": {"name": "b", "apps": ["blog"]}},
        routing={"cross_database_relations": False},
    )
    with override_settings(MULTIDB_ROUTING=strict):
        assert ConfigRouter().allow_relation(user, post) is False


def test_home_without_migrate_is_never_migrated() -> None:
    table = table_for(
        {"default": {"name": "a"}, "blog_db": {"name": "b", "apps": ["blog"], "operations": ["read", "write"]}}
    )
    with override_settings(MULTIDB_ROUTING=table):
        ours = ConfigRouter()
        assert ours.db_for_write(Post) == "blog_db"
        assert not ours.allow_migrate("blog_db", "blog") and not ours.allow_migrate("default", "blog")


def test_replica_is_never_migrated_and_holds_related_rows() -> None:
    table = table_for({"default": {"name": "a"}, "replica": {"name": "r", "apps": ["blog"], "operations": ["read"]}})
    with override_settings(MULTIDB_ROUTING=table):
        ours = ConfigRouter()
        assert ours.db_for_write(Post) == "default"
        assert not ours.allow_migrate("replica", "blog") and ours.allow_migrate("default", "blog")
        on_home, on_replica = Post(), Post()
        on_home._state.db, on_replica._state.db = "default", "replica"
        assert ours.allow_relation(on_home, on_replica) is True


def test_dbroutes_prints_the_table(tmp_path: Path) -> None:
    result = manage("dbroutes", config=local_config(tmp_path))
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[1:]}
    assert rows["blog"] == ["blog_db", "blog_db", "blog_db", "default"]
    assert rows["shop"] == ["shop_db", "shop_db", "shop_db", "shop_db"]
    assert rows["auth"] == ["default"] * 4
    assert list(tmp_path.iterdir()) == [tmp_path / "local.yaml"]  # no database touched
