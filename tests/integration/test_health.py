"""Health is truthful on PostgreSQL: unapplied migrations make dbhealth exit 1 and /readyz answer 503."""

from __future__ import annotations

import json

from tests.integration.appserver import serving
from tests.integration.stack import Stack

FIXTURE_SETTINGS = {"DJANGO_SETTINGS_MODULE": "tests.integration.fixture_settings"}  # adds shop.0002


def statuses(body: dict[str, dict[str, dict[str, str]]]) -> dict[str, str]:
    return {alias: info["status"] for alias, info in body["databases"].items()}


def test_aliases_not_yet_migrated_are_not_ready_until_migrate_all_runs(fresh: Stack) -> None:
    assert fresh.manage("migrate_all", "--database", "default").returncode == 0

    result = fresh.manage("dbhealth", "--json")

    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert body["failing"] == ["blog_db", "shop_db"]
    assert statuses(body) == {"default": "ok", "blog_db": "unmigrated", "shop_db": "unmigrated"}
    assert "blog.0001_initial" in body["databases"]["blog_db"]["unapplied"]
    assert "shop.0001_initial" in body["databases"]["shop_db"]["unapplied"]
    with serving(fresh.config) as app:
        status, ready = app.get("/readyz")
        assert (status, ready["failing"]) == (503, ["blog_db", "shop_db"])

        assert fresh.manage("migrate_all").returncode == 0

        status, ready = app.get("/readyz")  # the same process turns ready: nothing is cached
        assert (status, statuses(ready)) == (200, dict.fromkeys(["default", "blog_db", "shop_db"], "ok"))
    assert fresh.manage("dbhealth").returncode == 0


def test_new_code_with_an_unapplied_migration_is_not_ready(stack: Stack) -> None:
    # The shared databases are migrated; this release's code brings shop.0002, not yet applied.
    result = stack.manage("dbhealth", env=FIXTURE_SETTINGS)

    assert result.returncode == 1
    assert "shop_db  unmigrated: 1 unapplied migration(s); run migrate_all" in result.stdout
    assert "not ready:" in result.stderr and "shop_db" in result.stderr
    with serving(stack.config, env=FIXTURE_SETTINGS) as app:
        status, ready = app.get("/readyz")
    assert status == 503 and "shop_db" in ready["failing"]
    shop = ready["databases"]["shop_db"]
    assert (shop["status"], shop["unapplied"]) == ("unmigrated", ["shop.0002_sku_not_null"])
