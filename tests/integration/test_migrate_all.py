"""migrate_all on three PostgreSQL servers: each schema where its app lives, each history where migrate_to says."""

from __future__ import annotations

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
