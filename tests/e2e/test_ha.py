"""The Compose `ha` profile (`make up PROFILE=ha`, docs/ha.md): every alias under Patroni, failover under load."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.e2e import ha_scenarios as ha
from tests.e2e.test_stack import API_PASSWORD, API_USER, MAKE_UP_TIMEOUT, REPO, Stack, stack_env

pytestmark = pytest.mark.e2e

PROJECT = "multidb-e2e-ha"  # beside the other e2e stacks, never the developer's
NODES = {"default": ("main", ["db-main-1", "db-main-2"]), "blog_db": ("blog", ha.BLOG_NODES),
         "shop_db": ("shop", ["db-shop-1", "db-shop-2"])}  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One ha stack for the module, brought up as docs/ha.md says, with an API superuser for the writer."""
    env_file = tmp_path_factory.mktemp("e2e-ha") / ".env"
    env = stack_env(PROJECT, env_file)
    env.pop("COMPOSE_PROFILES", None)
    running = Stack(env=env, env_file=env_file, port=int(env["HTTPS_PORT"]))
    running.compose("--profile", "*", "down", "--volumes", "--remove-orphans", check=False)  # a killed run's leftovers
    started = time.monotonic()
    try:
        up = subprocess.run(
            ["make", "--no-print-directory", "-C", str(REPO), "up", "PROFILE=ha"],
            env=env, capture_output=True, text=True, timeout=MAKE_UP_TIMEOUT, check=False,
        )  # fmt: skip
        assert up.returncode == 0, f"make up PROFILE=ha failed:\n{up.stdout}\n{up.stderr}"
        print(f"\nmake up PROFILE=ha: {time.monotonic() - started:.0f} s; {up.stdout.strip().splitlines()[-1]}")
        running.compose(
            *("exec", "-T", "-e", "DJANGO_SUPERUSER_PASSWORD", "app"),
            *("python", "app/manage.py", "createsuperuser", "--noinput", "--username", API_USER),
            *("--email", "e2e@example.invalid"),
            env={"DJANGO_SUPERUSER_PASSWORD": API_PASSWORD},
        )
        yield running
    finally:
        running.env["FORCE"] = "1"
        running.make("destroy", check=False, timeout=300)


@pytest.mark.parametrize("alias", list(NODES))
def test_every_alias_runs_a_leader_and_a_sync_standby_and_no_plain_server(stack: Stack, alias: str) -> None:
    rows = ha.members(stack, NODES[alias][1])
    assert sorted(str(m["Role"]) for m in rows) == ["Leader", "Sync Standby"], rows
    services = stack.services()
    assert NODES[alias][1][0].rsplit("-", 1)[0] not in services  # db-blog: the plain server is not in this stack
    assert services["etcd"]["Health"] == "healthy"


def test_a_post_from_the_api_lands_on_the_leader_and_reaches_the_standby(stack: Stack) -> None:
    title = f"ha-post-{uuid.uuid4().hex[:8]}"
    status, body = stack.http("POST", "/api/posts/", {"title": title, "content": "replicated"})
    assert status == 201, body
    leader = ha.leader(stack, ha.BLOG_NODES)
    standby = next(node for node in ha.BLOG_NODES if node != leader)
    sql = "SELECT count(*) FROM blog_post WHERE title = :'t'"
    assert stack.superuser_sql(leader, "blog", sql, t=title) == "1"
    assert ha.in_recovery(stack, standby) == "t"
    # Synchronous commit means the standby has the WAL; replaying it may take a moment more.
    deadline = time.monotonic() + 5
    while stack.superuser_sql(standby, "blog", sql, t=title) != "1":
        assert time.monotonic() < deadline, "the post never reached the standby"
        time.sleep(0.2)


def test_runtime_role_cannot_create_a_table_on_the_leader(stack: Stack) -> None:
    leader = ha.leader(stack, ha.BLOG_NODES)
    result = stack.role_sql(leader, leader, "blog_runtime", "blog", "CREATE TABLE intruder (id int)")
    assert result.returncode != 0 and "permission denied for schema public" in result.stderr


def test_make_ps_lists_each_alias_leader_and_sync_standby(stack: Stack) -> None:
    printed = stack.make("ps").stdout
    for alias, (scope, _) in NODES.items():
        assert f"{alias} (Patroni" in printed and f"Cluster: {scope}" in printed
    assert printed.count("Sync Standby") == 3 and printed.count("Leader") == 3


# /readyz as a local caller sees it (the full view: node names), from inside the app's container.
READYZ_INSIDE = (
    "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=10).read().decode())"
)


def test_readyz_names_each_alias_leader_and_its_standby_s_lag_and_outsiders_get_numbers_only(stack: Stack) -> None:
    inside = json.loads(stack.compose("exec", "-T", "app", "python", "-c", READYZ_INSIDE).stdout)
    status, outside = stack.http("GET", "/readyz")

    assert inside["status"] == "ok" and status == 200, (inside, outside)
    for alias, (_, nodes) in NODES.items():
        reported = inside["databases"][alias]
        assert (reported["nodes"], reported["leader"]) == (2, ha.leader(stack, nodes)), reported
        [standby] = reported["standbys"]
        assert standby["host"] == next(node for node in nodes if node != reported["leader"]), reported
        assert standby["status"] == "ok" and isinstance(standby["lag_bytes"], int), reported
        seen = outside["databases"][alias]
        assert set(seen) == {"status", "nodes", "standby_lag_bytes"} and seen["nodes"] == 2, seen
        assert len(seen["standby_lag_bytes"]) == 1 and isinstance(seen["standby_lag_bytes"][0], int), seen
    assert "db-" not in json.dumps(outside)  # no node name leaves through the proxy


def test_make_failover_refuses_an_unknown_alias_with_exit_2(stack: Stack) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), "failover", "DB=nosuch_db"],
        env=stack.env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "failover: config/compose-ha.yaml: databases.nosuch_db: no such HA alias" in result.stderr


def test_planned_switchover_under_load_costs_at_most_5_s_of_write_errors(stack: Stack) -> None:
    outcome = ha.switchover(stack)
    print(f"\n{outcome.line()}")
    assert outcome.lost == 0
    assert outcome.error_seconds <= 5


def test_killed_leader_fails_over_within_the_goal_and_loses_no_acknowledged_write(stack: Stack) -> None:
    outcome = ha.kill(stack)
    print(f"\n{outcome.line()}")
    assert outcome.lost == 0
    assert outcome.rto <= ha.RTO_GOAL


def test_partitioned_leader_fences_itself_and_rejoins_as_standby(stack: Stack) -> None:
    outcome = ha.partition(stack)  # it also waits for the old leader to come back as Sync Standby
    print(f"\n{outcome.line()}")
    assert outcome.lost == 0
    assert outcome.fenced is not None
    # Patroni demotes once etcd has been unreachable for retry_timeout, well before its key's ttl runs out
    # and the standby may take over: never two leaders taking writes.
    assert outcome.fenced <= ha.SETTINGS["ttl"]
    assert outcome.rto <= ha.RTO_GOAL


def test_a_failover_during_migrate_all_fails_that_alias_and_a_rerun_converges(stack: Stack) -> None:
    """shop's migration made pending again, held on a lock on the leader, then the leader killed while it waits."""
    nodes = NODES["shop_db"][1]
    leader = ha.leader(stack, nodes)
    stack.superuser_sql(
        leader, "shop", "DROP TABLE shop_order, shop_product; DELETE FROM django_migrations WHERE app = 'shop'"
    )
    holder = subprocess.Popen(
        ["docker", "exec", "-i", ha.container(stack, leader), "psql", "-XqU", "postgres", "-d", "shop"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert holder.stdin is not None
    holder.stdin.write("BEGIN; LOCK TABLE django_migrations IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(300);\n")
    holder.stdin.flush()
    migrate = subprocess.Popen(
        [str(REPO / "scripts" / "compose.sh"), "run", "--rm", "-T", "migrate", "migrate"],
        env=stack.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE usename = 'shop_owner' AND wait_event_type = 'Lock'"
        deadline = time.monotonic() + 90
        while stack.superuser_sql(leader, "shop", waiting) != "1":
            assert migrate.poll() is None and time.monotonic() < deadline, "migrate never waited on the lock"
            time.sleep(0.5)
        assert ha.docker("kill", ha.container(stack, leader)).returncode == 0
        output, _ = migrate.communicate(timeout=180)
    finally:
        holder.kill()
        migrate.kill()
    print(f"\nmigrate during the failover (exit {migrate.returncode}):\n{output}")
    assert migrate.returncode == 1, output
    assert "shop_db" in output
    assert ha.docker("start", ha.container(stack, leader)).returncode == 0
    ha.wait_healthy_pair(stack, nodes)
    rerun = stack.compose("run", "--rm", "-T", "migrate", "migrate", check=False)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    new_leader = ha.leader(stack, nodes)
    assert stack.superuser_sql(new_leader, "shop", "SELECT to_regclass('public.shop_order') IS NOT NULL") == "t"
