"""The router's decisions through django.db.router, as the guide's "Routing Issues" section checks them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import router
from django.db.models import Model
from django.db.utils import ConnectionRouter
from django.test import override_settings

from apps.blog.models import Comment, Post
from apps.shop.models import Order, Product
from multidb.config import ProjectConfig
from multidb.replicas import pinning_scope
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


def on(alias: str, obj: Any) -> Any:
    obj._state.db = alias
    return obj


def test_two_replicas_of_one_home_relate_with_cross_database_relations_off() -> None:
    replica = {"apps": ["blog"], "operations": ["read"]}
    table = table_for(
        {
            "default": {"name": "a"},
            "blog_db": {"name": "b", "apps": ["blog"]},
            "blog_replica_1": {"name": "b1", **replica},
            "blog_replica_2": {"name": "b2", **replica},
        },
        routing={"cross_database_relations": False},
    )
    with override_settings(MULTIDB_ROUTING=table):
        ours = ConfigRouter()
        pairs = [("blog_replica_1", "blog_replica_2"), ("blog_db", "blog_replica_2"), ("blog_replica_1", "blog_db")]
        for first, second in pairs:
            assert ours.allow_relation(on(first, Comment()), on(second, Post())) is True, (first, second)
            assert ours.allow_relation(on(second, Post()), on(first, Comment())) is True, (second, first)
        # A replica is its home's rows only: a user (default) and a post read from a replica are still apart.
        assert ours.allow_relation(on("default", User()), on("blog_replica_1", Post())) is False


def test_an_object_not_yet_saved_relates_to_any_database() -> None:
    # Django gives an unsaved object its database when it is saved, from the other side's hint.
    strict = table_for(
        {"default": {"name": "a"}, "blog_db": {"name": "b", "apps": ["blog"]}},
        routing={"cross_database_relations": False},
    )
    with override_settings(MULTIDB_ROUTING=strict):
        ours = ConfigRouter()
        assert ours.allow_relation(on("default", User()), Post()) is True
        assert ours.allow_relation(Post(), on("default", User())) is True
        assert ours.allow_relation(on("blog_db", Comment()), on("blog_db", Post())) is True
        assert ours.allow_relation(on("default", User()), on("blog_db", Post())) is False


def test_only_writes_to_a_replicated_home_pin_reads_to_it() -> None:
    # The pins become the read-your-writes cookie: a write to a home without replicas must not add one.
    table = table_for(
        {
            "default": {"name": "a"},
            "blog_db": {"name": "b", "apps": ["blog"]},
            "blog_replica": {"name": "r", "apps": ["blog"], "operations": ["read"]},
            "shop_db": {"name": "s", "apps": ["shop"]},
        }
    )
    with override_settings(MULTIDB_ROUTING=table), pinning_scope() as pins:
        ours = ConfigRouter()
        assert (ours.db_for_write(User), ours.db_for_write(Product)) == ("default", "shop_db")
        assert pins.written == set()
        assert ours.db_for_write(Post) == "blog_db"
        assert pins.written == {"blog_db"}


def test_an_app_listed_by_its_app_config_path_is_routed_by_its_label() -> None:
    installed = ["django.contrib.auth.apps.AuthConfig", "django.contrib.contenttypes", "apps.blog.apps.BlogConfig"]
    for spelling in ("blog", "apps.blog", "apps.blog.apps.BlogConfig"):
        config = ProjectConfig.model_validate(
            {"databases": {"default": {"name": "a"}, "blog_db": {"name": "b", "apps": [spelling]}}}
        )
        table = build_routing_table(config, installed)
        assert table.route("blog").home == "blog_db", spelling
        assert table.route("auth").home == "default"
        assert table.apps_migrated_on("blog_db") == ("blog",)


class ArchiveRouter:
    """A project's own router, listed after ours: it routes what our config leaves undecided."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return "archive"

    db_for_write = db_for_read

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == "archive"

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return False


def test_a_router_after_ours_decides_what_the_config_does_not() -> None:
    # shop was not installed when this table was built, and "archive" is not a configured alias.
    table = build_routing_table(
        ProjectConfig.model_validate(
            {"databases": {"default": {"name": "a"}, "blog_db": {"name": "b", "apps": ["blog"]}}}
        ),
        [app for app in INSTALLED_APPS if app != "apps.shop"],
    )
    with override_settings(MULTIDB_ROUTING=table):
        chain = ConnectionRouter([ConfigRouter(), ArchiveRouter()])
        assert chain.db_for_write(Product) == chain.db_for_read(Order) == "archive"
        assert chain.allow_migrate("archive", "blog") is True and chain.allow_migrate("archive", "auth") is True
        assert chain.allow_relation(on("archive", Order()), on("default", User())) is False
        # What the config does decide stays ours, unlisted apps (auth: default) included.
        assert chain.db_for_write(Post) == chain.db_for_read(Comment) == "blog_db"
        assert chain.db_for_read(User, instance=on("blog_db", Post())) == "default"
        assert chain.allow_migrate("blog_db", "auth") is False and chain.allow_migrate("default", "shop") is True
        assert chain.allow_relation(on("blog_db", Post()), on("default", User())) is True


def test_routing_table_gives_each_alias_and_app_its_role() -> None:
    from multidb.routing import Route

    table = table_for(
        {
            "shop_db": {"name": "s", "apps": ["shop"]},
            "default": {"name": "a"},
            "blog_db": {"name": "b", "apps": ["blog"], "operations": ["read", "write"], "migrate_to": "default"},
            "blog_replica": {"name": "r", "apps": ["blog"], "operations": ["read"]},
            "archive": {"name": "x", "apps": ["sessions"], "operations": ["read", "write"]},
        }
    )
    assert table.aliases == ("default", "shop_db", "blog_db", "blog_replica", "archive")  # default first
    assert table.migratable == {"default": "default", "shop_db": "shop_db", "blog_db": "default"}
    assert list(table.migratable) == ["default", "shop_db", "blog_db"]
    assert table.replicas == frozenset({"blog_replica"})
    assert table.route("blog") == Route("blog_db", ("blog_replica",), "blog_db", "default")
    assert table.route("shop") == Route("shop_db", (), "shop_db", "shop_db")
    assert table.route("sessions") == Route("archive", (), None, None)  # homed on a non-migratable alias
    assert table.route("auth") == table.route("not_an_app") == Route("default", (), "default", "default")
    assert table.route("blog").migrate_on == frozenset({"blog_db"})
    assert table.route("sessions").migrate_on == frozenset()
    assert table.apps_migrated_on("blog_db") == ("blog",)
    assert table.apps_migrated_on("archive") == ()
    assert {"auth", "contenttypes"} <= set(table.apps_migrated_on("default"))
    assert not {"blog", "shop", "sessions"} & set(table.apps_migrated_on("default"))


def test_each_alias_s_timeouts_reach_the_table_migrate_all_reads() -> None:
    table = table_for(
        {"default": {"name": "a"}, "blog_db": {"name": "b", "apps": ["blog"], "timeouts": {"migration_lock": 1500}}}
    )
    assert table.timeouts["blog_db"].migration_lock == 1500
    assert table.timeouts["default"].migration_lock == 5000  # the default where none is set


def test_sharded_app_is_migrated_on_every_shard_and_homed_on_the_first() -> None:
    table = table_for(
        {"default": {"name": "a"}, "s0": {"name": "0"}, "s1": {"name": "1"}},
        shards={"posts": {"aliases": ["s1", "s0"], "apps": ["blog"], "key": "author_id", "strategy": "modulo"}},
    )
    route = table.route("blog")
    assert route.shard is not None and (route.shard.name, route.shard.aliases) == ("posts", ("s1", "s0"))
    assert (route.shard.key, route.shard.strategy) == ("author_id", "modulo")
    assert (route.home, route.migrate, route.history) == ("s1", None, None)
    assert route.migrate_on == frozenset({"s0", "s1"})
    assert table.apps_migrated_on("s0") == ("blog",)
    with override_settings(MULTIDB_ROUTING=table):
        ours = ConfigRouter()
        assert ours.allow_migrate("s0", "blog") and ours.allow_migrate("s1", "blog")
        assert not ours.allow_migrate("default", "blog") and not ours.allow_migrate("s0", "shop")
        # modulo: key % 2 indexes the group's aliases in their configured order (s1, s0).
        assert ours.db_for_write(Post, instance=Post(author_id=3)) == "s0"
        assert ours.db_for_read(Post, instance=Post(author_id=4)) == "s1"


def test_an_app_homed_on_an_alias_without_migrate_is_never_migrated() -> None:
    table = table_for(
        {"default": {"name": "a"}, "archive": {"name": "r", "apps": ["shop"], "operations": ["read", "write"]}}
    )
    route = table.route("shop")
    assert (route.home, route.migrate, route.history, route.migrate_on) == ("archive", None, None, frozenset())
    assert "archive" not in table.migratable and table.apps_migrated_on("archive") == ()
    with override_settings(MULTIDB_ROUTING=table):
        assert ConfigRouter().allow_migrate("archive", "shop") is False
