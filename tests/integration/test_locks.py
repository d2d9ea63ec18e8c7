"""The per-alias advisory lock for real: concurrent migrate_all runs on fresh databases apply each migration once."""

from __future__ import annotations

import json
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from multidb.locks import MIGRATION_LOCK_KEY
from tests.integration.stack import Stack

RUNS = 5


def test_concurrent_migrate_all_runs_all_succeed_and_apply_each_migration_once(fresh: Stack, tmp_path: Path) -> None:
    reports = [tmp_path / f"run-{n}.json" for n in range(RUNS)]

    with ThreadPoolExecutor(max_workers=RUNS) as pool:  # five processes started at once
        results = list(pool.map(lambda report: fresh.manage("migrate_all", "--json", str(report)), reports))

    assert [result.returncode for result in results] == [0] * RUNS, [result.stderr for result in results]
    # Five runs at once: some waited for another's lock, and said so for the alias they waited on.
    waited = [line for result in results for line in result.stdout.splitlines() if "waiting for another" in line]
    assert waited, "no run waited for another's lock"
    line = re.compile(r"  (default|blog_db|shop_db): waiting for another migrate_all to finish")
    assert all(line.fullmatch(w) for w in waited), waited
    # In the databases: every history holds each migration exactly once.
    histories = {
        "default": fresh.rows("default", "SELECT app, name FROM django_migrations"),
        "blog_db": fresh.rows("default", "SELECT app, name FROM multidb_migration_history WHERE database = 'blog_db'"),
        "shop_db": fresh.rows("shop_db", "SELECT app, name FROM django_migrations"),
    }
    for alias, rows in histories.items():
        duplicates = [key for key, count in Counter(rows).items() if count > 1]
        assert duplicates == [], f"{alias} recorded twice: {duplicates}"
    assert set(histories["default"]) == set(histories["blog_db"]) == set(histories["shop_db"])
    # In the reports: exactly one run applied (or recorded) each migration on each alias; the others found it done.
    applied: Counter[tuple[str, str]] = Counter()
    for report in reports:
        for entry in json.loads(report.read_text())["aliases"]:
            applied.update((entry["alias"], step["migration"]) for step in entry["steps"])
    total = {alias: len(rows) for alias, rows in histories.items()}
    assert sum(applied.values()) == sum(total.values()) and set(applied.values()) == {1}


def test_check_never_waits_for_a_running_migration_s_lock(fresh: Stack) -> None:
    # A deploy's migrate_all holds the advisory lock of each alias it migrates; a read-only --check beside it
    # (a readiness gate, a dashboard) answers at once instead of queueing behind the migration.
    assert fresh.manage("migrate_all").returncode == 0
    with fresh.connect("shop_db") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
        checked = fresh.manage("migrate_all", "--check", timeout=30)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "waiting for another" not in checked.stdout


def test_an_alias_recording_its_history_in_main_does_not_wait_for_main_s_migration(fresh: Stack) -> None:
    # blog_db's history lives in main; creating that history takes a lock of its own, so a long migration
    # of main itself (holding main's migration lock) does not hold up migrating blog_db.
    assert fresh.manage("migrate_all", "--database", "default").returncode == 0
    with fresh.connect("default") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
        blog = fresh.manage("migrate_all", "--database", "blog_db", timeout=60)

    assert blog.returncode == 0, blog.stdout + blog.stderr
    assert ("blog", "0001_initial") in fresh.rows(
        "default", "SELECT app, name FROM multidb_migration_history WHERE database = 'blog_db'"
    )
