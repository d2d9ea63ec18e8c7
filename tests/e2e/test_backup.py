"""Backups and point-in-time restore of the Compose stack (docs/backups.md), on the session stack.

The session stack (conftest.py) rather than one of its own: a `make up` less in CI. These tests roll its
databases back and replace their volumes, so they run after test_stack.py and before
test_add_database.py, and leave every alias restored, healthy and without dangling reference.
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from tests.e2e.test_stack import DATABASES, REPO, Stack

pytestmark = pytest.mark.e2e

MAIN, BLOG, SHOP = DATABASES["default"][:2], DATABASES["blog_db"][:2], DATABASES["shop_db"][:2]
ARCHIVE_TIMEOUT = 60  # the stack's default (compose_databases.py): the RPO a disaster must stay within
# Rows of blog and shop whose user is missing from main, what `manage.py dbrefs` counts (by SQL here, so
# the test does not depend on that command's output format).
DANGLING = {
    BLOG: "SELECT author_id FROM blog_post",
    SHOP: "SELECT customer_id FROM shop_order",
}
USER = (
    "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff,"
    " is_active, date_joined) VALUES ('!', false, :'name', '', '', '', false, true, now()) RETURNING id"
)


def make(stack: Stack, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """make ARGS in the repository against the session stack (its project, env file and port)."""
    command = ["make", "--no-print-directory", "-C", str(REPO), *args]
    result = subprocess.run(command, env=stack.env, capture_output=True, text=True, timeout=900, check=False)
    if check:
        assert result.returncode == 0, f"make {args} failed:\n{result.stdout}\n{result.stderr}"
    return result


def sql(stack: Stack, where: tuple[str, str], statement: str, **params: str) -> str:
    return stack.superuser_sql(where[0], where[1], statement, **params)


def write_user_post_order(stack: Stack) -> str:
    """A user in main, a post by them in blog and an order of theirs in shop; the user's name."""
    name = "bk-" + uuid.uuid4().hex[:10]
    user = sql(stack, MAIN, USER, name=name).splitlines()[0]
    post = "INSERT INTO blog_post (title, content, author_id, created_at) VALUES (:'n', '', :'u', now())"
    sql(stack, BLOG, post, n=name, u=user)
    order = "INSERT INTO shop_order (order_number, customer_id, total, created_at) VALUES (:'n', :'u', 1, now())"
    sql(stack, SHOP, order, n=name, u=user)
    return name


def present(stack: Stack, name: str) -> tuple[bool, bool, bool]:
    return (
        sql(stack, MAIN, "SELECT count(*) FROM auth_user WHERE username = :'n'", n=name) == "1",
        sql(stack, BLOG, "SELECT count(*) FROM blog_post WHERE title = :'n'", n=name) == "1",
        sql(stack, SHOP, "SELECT count(*) FROM shop_order WHERE order_number = :'n'", n=name) == "1",
    )


def dangling(stack: Stack) -> int:
    users = set(sql(stack, MAIN, "SELECT id FROM auth_user").split())
    return sum(len(set(sql(stack, where, query).split()) - users) for where, query in DANGLING.items())


@pytest.fixture(scope="module")
def backed_up(stack: Stack) -> Stack:
    """Each server's backup loop makes a full backup when it starts; then `make backup` adds an incremental."""
    deadline = time.monotonic() + 300
    while "no backup yet" in (listing := stack.make("backups").stdout) and time.monotonic() < deadline:
        time.sleep(2)
    assert "no backup yet" not in listing, listing
    out = make(stack, "backup", "TYPE=incr").stdout
    assert len(re.findall(r" incr backup \S+I ", out)) == len(DATABASES), out
    return stack


def test_restore_to_a_time_brings_back_every_row_before_it_and_none_after(backed_up: Stack) -> None:
    stack = backed_up
    before = write_user_post_order(stack)
    time.sleep(1)
    target = datetime.now(UTC)
    time.sleep(1)
    after = write_user_post_order(stack)
    out = make(stack, "restore", f"TIME={target.isoformat(sep=' ')}").stdout
    print(out)
    assert present(stack, before) == (True, True, True)
    assert present(stack, after) == (False, False, False)
    assert stack.http("GET", "/readyz")[0] == 200
    assert dangling(stack) == 0
    assert "migrate_all --check: ok" in out
    assert "DANGLING" not in out


def test_a_lost_volume_of_every_server_is_restored_up_to_the_last_archived_wal(backed_up: Stack) -> None:
    stack = backed_up
    wheres = (MAIN, BLOG, SHOP)
    for where in wheres:
        sql(stack, where, "CREATE TABLE IF NOT EXISTS bk_ticks (at timestamptz NOT NULL)")
    # The restore takes all three to one moment, the earliest of their last archived commits: a marker
    # row after every table exists keeps the tables in that moment (its own time is an hour ago).
    for where in wheres:
        sql(stack, where, "INSERT INTO bk_ticks VALUES (now() - interval '1 hour')")
        # `pgbackrest check` switches to a new WAL segment and waits until the old one is archived.
        stack.compose("exec", "-T", "--user", "postgres", where[0], "pgbackrest", "check")
    # Acknowledged writes: one committed row every 0.1 s for 5 s in each database at once, then the disaster.
    loop = "DO $$ BEGIN FOR i IN 1..50 LOOP INSERT INTO bk_ticks VALUES (clock_timestamp()); COMMIT;"
    loop += " PERFORM pg_sleep(0.1); END LOOP; END $$"
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda where: sql(stack, where, loop), wheres))
    span = "SELECT extract(epoch FROM min(at) FILTER (WHERE at > now() - interval '1 minute'))"
    span += " || ' ' || extract(epoch FROM max(at)) FROM bk_ticks"
    written = {where: [float(t) for t in sql(stack, where, span).split()] for where in wheres}
    services = [where[0] for where in wheres]
    stack.compose("kill", *services)
    stack.compose("rm", "--stop", "--force", *services, *[f"{service}-backup" for service in services])
    project = stack.env["COMPOSE_PROJECT_NAME"]
    for service in services:  # the data volumes; the repository volume stays
        result = subprocess.run(["docker", "volume", "rm", f"{project}_{service}"], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    stack.make("up")
    out = make(stack, "restore").stdout
    print(out)
    for where in wheres:
        first, last = written[where]
        restored = float(sql(stack, where, "SELECT coalesce(extract(epoch FROM max(at)), 0) FROM bk_ticks"))
        lost = last - max(restored, first)  # none of the ticks archived: all of them lost
        print(f"{where[0]}: {lost:.1f} s of acknowledged writes lost (archive_timeout {ARCHIVE_TIMEOUT} s)")
        assert lost <= ARCHIVE_TIMEOUT + 5
    assert stack.http("GET", "/readyz")[0] == 200
    assert dangling(stack) == 0


def test_restoring_main_alone_to_an_earlier_time_leaves_dangling_references(backed_up: Stack) -> None:
    stack = backed_up
    time.sleep(1)
    target = datetime.now(UTC)
    time.sleep(1)
    name = write_user_post_order(stack)
    out = make(stack, "restore", f"TIME={target.isoformat(sep=' ')}", "DB=default").stdout
    print(out)
    assert "WARNING" in out
    assert present(stack, name) == (False, True, True)
    assert dangling(stack) == 2
    if "dbrefs is not in this build" not in out:
        assert "DANGLING REFERENCES" in out
    # Leave the stack consistent for the tests after this module.
    sql(stack, BLOG, "DELETE FROM blog_post WHERE title = :'n'", n=name)
    sql(stack, SHOP, "DELETE FROM shop_order WHERE order_number = :'n'", n=name)


def test_bad_input_exits_2_with_one_line_and_changes_nothing(backed_up: Stack) -> None:
    stack = backed_up
    cases = {
        ("restore", "TIME=yesterday"): "cannot parse TIME",
        ("restore", "TIME=2099-01-01 00:00:00+00"): "is in the future",
        ("restore", "TIME=2001-01-01 00:00:00+00"): "before the earliest restorable time of default: 20",
        ("restore", "DB=nosuch"): "unknown alias nosuch",
        ("backup", "TYPE=weekly"): "TYPE=weekly is not a backup type",
    }
    for args, message in cases.items():
        result = make(stack, *args, check=False)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr.splitlines()[0], (args, result.stderr)
    services = stack.services()  # nothing was stopped
    assert (services["app"]["State"], services["app"]["Health"]) == ("running", "healthy")
