"""migrate_all on three PostgreSQL servers: each schema where its app lives, each history where migrate_to says."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import yaml

from tests import crash_manage
from tests.integration.postgres import Server, Target, fresh_targets, write_config
from tests.integration.stack import Stack

# Tables each database must hold; anything else there must belong to the same apps (checked by prefix).
MAIN_TABLES = {
    "auth_user",
    "auth_group",
    "auth_permission",
    "django_admin_log",
    "django_content_type",
    "django_session",
    "django_migrations",  # default's own history
    "multidb_migration_history",  # blog_db's history (migrate_to: default)
}
BLOG_TABLES = {"blog_post", "blog_comment"}
SHOP_TABLES = {"shop_product", "shop_order", "django_migrations"}  # shop_db keeps its own history
OWN_PREFIXES = {
    "default": ("auth_", "django_", "multidb_"),
    "blog_db": ("blog_",),
    "shop_db": ("shop_", "django_migrations"),
}
FIXTURE_SETTINGS = {"DJANGO_SETTINGS_MODULE": "tests.integration.fixture_settings"}


def test_each_database_holds_exactly_its_own_tables(stack: Stack) -> None:
    found = {alias: stack.tables(alias) for alias in ("default", "blog_db", "shop_db")}

    assert MAIN_TABLES <= found["default"]
    assert BLOG_TABLES == found["blog_db"]  # not even django_migrations: its history is in default
    assert SHOP_TABLES <= found["shop_db"]
    strangers = {
        alias: sorted(table for table in names if not table.startswith(OWN_PREFIXES[alias]))
        for alias, names in found.items()
    }
    assert strangers == {"default": [], "blog_db": [], "shop_db": []}


def test_migration_history_is_recorded_where_migrate_to_says(stack: Stack) -> None:
    # blog_db has migrate_to: default -> its history is in default's routed table, one row per migration.
    routed = stack.rows("default", "SELECT database, app, name FROM multidb_migration_history")
    assert {database for database, _, _ in routed} == {"blog_db"}
    assert ("blog_db", "blog", "0001_initial") in routed
    assert len(routed) == len(set(routed))
    # shop_db keeps its own history in its own django_migrations, as does default.
    shop = stack.rows("shop_db", "SELECT app, name FROM django_migrations")
    main = stack.rows("default", "SELECT app, name FROM django_migrations")
    assert ("shop", "0001_initial") in shop and ("auth", "0001_initial") in main
    # Every alias records the whole graph (other apps' migrations as no-ops), so Django's tools agree.
    assert {(app, name) for _, app, name in routed} == set(shop) == set(main)


def test_rerun_applies_nothing(stack: Stack) -> None:
    result = stack.manage("migrate_all")

    assert result.returncode == 0, result.stderr
    summary = result.stdout.strip().splitlines()[-3:]
    assert all("nothing to apply" in line for line in summary), result.stdout


def test_a_migration_failing_halfway_leaves_its_database_at_the_previous_migration(fresh: Stack) -> None:
    assert fresh.manage("migrate_all").returncode == 0
    with fresh.connect("shop_db") as shop:
        shop.execute("INSERT INTO shop_product (name, price, stock) VALUES ('Mug', 9.50, 3)")

    # The next release brings shop.0002, which adds and indexes a column, then fails on the existing row.
    result = fresh.manage("migrate_all", env=FIXTURE_SETTINGS)

    assert result.returncode == 1
    assert "shop_db  failed in shop.0002_sku_not_null: " in result.stdout
    assert "contains null values" in result.stdout
    assert "migrate_all failed on shop_db (1 of 3 aliases)" in result.stderr
    with fresh.connect("shop_db") as shop:
        columns = shop.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'shop_product'"
        ).fetchall()
        indexes = shop.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'shop_product'").fetchall()
        history = shop.execute("SELECT name FROM django_migrations WHERE app = 'shop'").fetchall()
        products = shop.execute("SELECT name, stock FROM shop_product").fetchall()
    assert ("sku",) not in columns  # the first step was rolled back with the failing one
    assert ("shop_product_sku",) not in indexes
    assert history == [("0001_initial",)]
    assert products == [("Mug", 3)]


# --- issue 10: shared history alias, crash convergence ---------------------------------------------------

RACE_RUNS = 10
EXTRA = ("x1", "x2", "x3")  # with blog_db, four aliases recording their history in default
PLAIN = {"DJANGO_SETTINGS_MODULE": "tests.unit.blog_migrations_settings"}  # adds blog.0002_plain (no deferred SQL)


def shared_history_stack(servers: dict[str, Server], directory: Path) -> Stack:
    """Fresh databases: the usual three, plus x1..x3 (no apps) on blog's server with `migrate_to: default`."""
    prefix = "r" + secrets.token_hex(4)
    targets = fresh_targets(servers, prefix)
    config = write_config(directory / "shared.yaml", targets)
    data = yaml.safe_load(config.read_text())
    for alias in EXTRA:
        servers["blog"].create_database(f"{prefix}_{alias}")
        targets[alias] = Target(servers["blog"], f"{prefix}_{alias}")
        data["databases"][alias] = {
            **{k: v for k, v in data["databases"]["blog_db"].items() if k not in ("apps", "name")},
            "name": f"{prefix}_{alias}",
        }
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return Stack(config, targets)


def test_four_aliases_sharing_one_history_alias_migrate_at_once_on_fresh_databases(
    servers: dict[str, Server], tmp_path: Path
) -> None:
    for run in range(RACE_RUNS):  # before the fix, about one run in five lost the race to create the table
        directory = tmp_path / f"run{run}"
        directory.mkdir()
        stack = shared_history_stack(servers, directory)

        result = stack.manage("migrate_all", "--jobs", "4")

        assert result.returncode == 0, f"run {run}: {result.stdout}{result.stderr}"
        routed = stack.rows("default", "SELECT database, app, name FROM multidb_migration_history")
        assert len(routed) == len(set(routed)), f"run {run}: recorded twice"
        assert {database for database, _, _ in routed} == {"blog_db", *EXTRA}


@pytest.mark.parametrize("point", crash_manage.POINTS)
@pytest.mark.parametrize("migration", ["blog.0001_initial", "blog.0002_plain"])
def test_a_crash_at_any_point_of_a_routed_migration_converges_on_postgres(
    fresh: Stack, point: str, migration: str
) -> None:
    crashed = crash_manage.run("migrate_all", config=fresh.config, crash_at=f"{point}:{migration}", env=PLAIN)
    assert crashed.returncode == 70, crashed.stdout + crashed.stderr  # the process died there

    rerun = fresh.manage("migrate_all", env=PLAIN)

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr  # no double apply
    assert {"blog_post", "blog_comment", "blog_plain"} <= fresh.tables("blog_db")  # no history without schema
    app, name = migration.split(".")
    history = fresh.rows("default", "SELECT app, name FROM multidb_migration_history WHERE database = 'blog_db'")
    assert history.count((app, name)) == 1
    if "multidb_migration_pending" in fresh.tables("default"):
        assert fresh.rows("default", "SELECT * FROM multidb_migration_pending") == []
    assert fresh.manage("migrate_all", "--check", env=PLAIN).returncode == 0
