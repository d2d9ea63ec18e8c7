"""migrate_all's session on PostgreSQL: a lock_timeout with retries, no statement_timeout, history the owner's alone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import errors, sql

from tests.integration.stack import LeastPrivilege, Stack
from tests.unit.cli import REPO

# Project settings with shop's migrations from tests/integration/shop_migrations (0002 alters shop_product).
FIXTURE_SETTINGS = "tests.integration.fixture_settings"
SHOP_0002 = "shop.0002_sku_not_null"


def _with_shop(config: Path, **entry: Any) -> Path:
    """The same config with `entry` merged into databases.shop_db (timeouts, options)."""
    data = yaml.safe_load(config.read_text())
    data["databases"]["shop_db"].update(entry)
    changed = config.with_name(f"shop-{len(entry)}-{time.monotonic_ns()}.yaml")
    changed.write_text(yaml.safe_dump(data, sort_keys=False))
    return changed


@contextmanager
def _running_migrate_all(config: Path) -> Iterator[subprocess.Popen[str]]:
    """migrate_all with shop's 0002 due, as a process whose output can be read while it waits."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "DJANGO_SETTINGS"))}
    environ |= {"APP_CONFIG": str(config), "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    environ["DJANGO_SETTINGS_MODULE"] = FIXTURE_SETTINGS
    with subprocess.Popen(
        [sys.executable, str(REPO / "app" / "manage.py"), "migrate_all"],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        # Without a lock_timeout the migration would wait forever: end it, so the test fails instead of hanging.
        watchdog = threading.Timer(90, process.kill)
        watchdog.start()
        try:
            yield process
        finally:
            watchdog.cancel()
            if process.poll() is None:
                process.kill()


@contextmanager
def _reading_shop_product(stack: Stack) -> Iterator[psycopg.Connection[Any]]:
    """Another session inside a transaction that has read shop_product: ALTER TABLE must wait for it."""
    with stack.connect("shop_db") as blocker:
        blocker.execute("BEGIN")
        blocker.execute("SELECT count(*) FROM shop_product")  # ACCESS SHARE, held until the transaction ends
        yield blocker


def _wait_for(process: subprocess.Popen[str], words: str, seen: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        seen.append(line)
        if words in line:
            return
    raise AssertionError(f"migrate_all ended without saying {words!r}:\n{''.join(seen)}")


def _migrated(fresh: Stack) -> None:
    result = fresh.manage("migrate_all")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_migration_waiting_for_a_lock_is_retried_and_succeeds_once_the_lock_goes(fresh: Stack) -> None:
    _migrated(fresh)
    config = _with_shop(fresh.config, timeouts={"migration_lock": 300, "migration_lock_retries": 10})
    seen: list[str] = []

    with _reading_shop_product(fresh) as blocker, _running_migrate_all(config) as process:
        _wait_for(process, "(lock_timeout); retry 1 of 10", seen)
        blocker.execute("ROLLBACK")  # the other session's transaction ends: its lock goes away
        output = "".join(seen) + (process.communicate(timeout=120)[0] or "")

    assert process.returncode == 0, output
    assert f"\n  shop_db: {SHOP_0002} waited 300 ms for a lock (lock_timeout); retry 1 of 10 in " in output, output
    assert ("shop", "0002_sku_not_null") in fresh.rows("shop_db", "SELECT app, name FROM django_migrations")
    assert "sku" in {row[0] for row in fresh.rows("shop_db", _COLUMNS)}


def test_a_migration_that_never_gets_its_lock_fails_naming_alias_migration_and_lock_timeout(fresh: Stack) -> None:
    _migrated(fresh)
    config = _with_shop(fresh.config, timeouts={"migration_lock": 200, "migration_lock_retries": 2})

    with _reading_shop_product(fresh), _running_migrate_all(config) as process:
        output = process.communicate(timeout=120)[0]

    assert process.returncode == 1, output
    line = next(line for line in output.splitlines() if line.startswith("shop_db"))
    assert f"failed in {SHOP_0002}: LockTimeoutExhaustedError" in line, line
    assert "waited 200 ms for a lock 3 time(s) (lock_timeout)" in line
    assert "or raise databases.shop_db.timeouts.migration_lock" in line, line  # the key to change, for this alias
    assert "Traceback" not in output
    assert ("shop", "0002_sku_not_null") not in fresh.rows("shop_db", "SELECT app, name FROM django_migrations")
    assert "sku" not in {row[0] for row in fresh.rows("shop_db", _COLUMNS)}  # rolled back, nothing half-done


def test_the_app_s_statement_timeout_does_not_apply_to_migrations(fresh: Stack) -> None:
    """options.statement_timeout (100 ms) is the app's; a migration waiting 1 s for a lock still succeeds."""
    _migrated(fresh)
    slow_app = _with_shop(
        fresh.config,
        options={"connect_timeout": 5, "statement_timeout": 100},
        timeouts={"migration_lock": 20000, "migration_lock_retries": 0},
    )

    with _reading_shop_product(fresh) as blocker, _running_migrate_all(slow_app) as process:
        _wait_until_waiting_for_a_lock(fresh)
        time.sleep(1.0)  # ten times the app's statement_timeout
        blocker.execute("ROLLBACK")
        output = process.communicate(timeout=120)[0]

    assert process.returncode == 0, output
    assert ("shop", "0002_sku_not_null") in fresh.rows("shop_db", "SELECT app, name FROM django_migrations")
    with pytest.raises(errors.QueryCanceled):  # while the app's own sessions do keep the limit
        with psycopg.connect(**_libpq(fresh), options="-c statement_timeout=100") as app_session:
            app_session.execute("SELECT pg_sleep(1)")


@pytest.mark.parametrize(
    ("alias", "table"),
    # default and shop_db keep their own history; blog_db's is routed to default (migrate_to).
    [("default", "django_migrations"), ("shop_db", "django_migrations"), ("default", "multidb_migration_history")],
)
def test_the_runtime_role_cannot_write_the_history_but_can_read_it(
    least_privilege: LeastPrivilege, alias: str, table: str
) -> None:
    name = sql.Identifier(table)
    with least_privilege.runtime.connect(alias) as runtime:
        assert runtime.execute(sql.SQL("SELECT count(*) FROM {}").format(name)).fetchone()[0] > 0  # type: ignore[index]
        for statement in (
            sql.SQL("INSERT INTO {} (app, name, applied) VALUES ('shop', '9999_forged', now())"),
            sql.SQL("UPDATE {} SET name = name"),
            sql.SQL("DELETE FROM {}"),
            sql.SQL("TRUNCATE {}"),
        ):
            with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
                runtime.execute(statement.format(name))


def test_revoking_is_idempotent_and_the_owner_still_writes(least_privilege: LeastPrivilege) -> None:
    # The first run revoked the runtime roles' writes on the history tables and said so, for the alias it ran.
    revoked = [line for line in least_privilege.first_migrate_output.splitlines() if "revoked writes on" in line]
    assert revoked, least_privilege.first_migrate_output
    said = re.compile(r"  (default|blog_db|shop_db): revoked writes on \w+: \w+_runtime \(history is the owner")
    assert all(said.match(line) for line in revoked), revoked
    again = least_privilege.owner.manage("migrate_all")

    assert again.returncode == 0, again.stdout + again.stderr
    assert "revoked writes" not in again.stdout  # the first run did it; nothing left to revoke
    with least_privilege.owner.connect("shop_db") as owner:
        owner.execute("UPDATE django_migrations SET applied = applied WHERE app = 'shop'")


_COLUMNS = "SELECT column_name FROM information_schema.columns WHERE table_name = 'shop_product'"


def _libpq(stack: Stack) -> dict[str, Any]:
    target = stack.targets["shop_db"]
    password = target.server.password if target.password is None else target.password
    return {
        "host": target.server.host,
        "port": target.server.port,
        "dbname": target.dbname,
        "user": target.user,
        "password": password,
    }


def _wait_until_waiting_for_a_lock(stack: Stack, timeout: float = 60) -> None:
    """Until a session of shop's database waits on a lock for an ALTER TABLE (migrate_all reached 0002)."""
    deadline = time.monotonic() + timeout
    with stack.connect("shop_db") as watcher:
        watcher.autocommit = True
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'ALTER TABLE%'"
            ).fetchone()
            if waiting and waiting[0]:
                return
            time.sleep(0.1)  # polling a real query; the migration reaches 0002 within seconds
    raise AssertionError("migrate_all never waited for shop_product's lock")
