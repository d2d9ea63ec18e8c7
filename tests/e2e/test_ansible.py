"""deploy.yml and restore.yml against the test inventory's throwaway systemd hosts (one per database, app-1, backup-1).

The tests share one set of hosts and run in file order: the first deploy (fixture), what it built (the
proxy in front of the app included), a backup and a point-in-time restore, deploys refused by the input
checks, then the second run, check mode on a drifted pg_hba.conf, and last a deploy whose migration fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.e2e.ansible_hosts.throwaway import (
    ANSIBLE_DIR,
    HOSTS,
    REPO,
    RESTORE_PLAYBOOK,
    TEST_CERTIFICATE,
    DockerUnavailableError,
    Hosts,
    PlaybookRun,
    docker,
    ensure_docker,
    ensure_host_image,
    inventory_databases,
    run_playbook,
    throwaway_hosts,
)

pytestmark = pytest.mark.e2e

TOPOLOGY = inventory_databases()  # alias -> multidb_databases entry, from config/staging.yaml and the test inventory
# The first host of each alias -> (database, runtime role): for shop_db, a Patroni cluster of db-shop and db-shop-2,
# db-shop, the member that bootstraps it and leads after the first deploy (and after a restore).
DATABASES = {db["hosts"][0]: (db["name"], db["user"]) for db in TOPOLOGY.values()}
HOST_ALIAS = {host: alias for alias, db in TOPOLOGY.items() for host in db["hosts"]}  # every database host
HA_ALIAS = "shop_db"
HA_MEMBERS = TOPOLOGY[HA_ALIAS]["hosts"]
PATRONI_CTL = ("patronictl", "-c", "/etc/patroni/15-main.yml")
# Interface 3 (docs/ha.md): Patroni's settings; the RTO goal is ttl + loop_wait + 5 s.
PATRONI_SETTINGS = {"ttl": 10, "loop_wait": 2, "retry_timeout": 4, "maximum_lag_on_failover": 1048576,
                    "synchronous_mode": True, "synchronous_mode_strict": False}  # fmt: skip
RTO_GOAL = PATRONI_SETTINGS["ttl"] + PATRONI_SETTINGS["loop_wait"] + 5
# default holds every app no alias lists (auth, admin, sessions, ...); an alias migrating its own history
# (migrate in operations) also holds django_migrations.
TABLE_PREFIXES = {
    db["hosts"][0]: ("auth_", "django_", "multidb_")
    if alias == "default"
    else tuple(f"{app.rsplit('.', 1)[-1]}_" for app in db.get("apps", []))
    + (("django_",) if "migrate" in db.get("operations", []) else ())
    for alias, db in TOPOLOGY.items()
}
ALL_HOSTS = set(HOSTS)
# Every table but migrate_all's history: all row rights, nothing else. The history: read, never written.
RIGHTS_ON_EVERY_TABLE = """
SELECT bool_and(has_table_privilege(t, 'SELECT, INSERT, UPDATE, DELETE')),
       bool_or(has_table_privilege(t, 'TRUNCATE, REFERENCES, TRIGGER'))
FROM (SELECT format('public.%I', tablename) AS t FROM pg_tables
      WHERE schemaname = 'public'
        AND tablename NOT IN ('django_migrations', 'multidb_migration_history', 'multidb_migration_pending')) AS tables
"""
RIGHTS_ON_THE_HISTORY = """
SELECT coalesce(bool_and(has_table_privilege(t, 'SELECT')), true),
       coalesce(bool_or(has_table_privilege(t, 'INSERT, UPDATE, DELETE, TRUNCATE')), false)
FROM (SELECT format('public.%I', tablename) AS t FROM pg_tables
      WHERE schemaname = 'public'
        AND tablename IN ('django_migrations', 'multidb_migration_history', 'multidb_migration_pending')) AS tables
"""
PG_HBA = "/etc/postgresql/15/main/pg_hba.conf"
OPERATOR_RULE = "host all all 10.9.9.9/32 scram-sha-256"  # what an operator appends by hand
# Files an aborted deploy must leave as they were: db-main's and the app host's.
UNTOUCHED = {"db-main": (PG_HBA, "/etc/postgresql/15/main/conf.d/50-ansible.conf"),
             "app-1": ("/etc/multidb/app.yaml", "/etc/multidb/app.env", "/etc/multidb/migrate.yaml",
                       "/etc/systemd/system/multidb.service")}  # fmt: skip
MIGRATE_ENV = "/run/multidb-migrate.env"
# A server setting that needs a restart (Debian's default is 128MB), for the rolling restart of role patroni.
SETTING_CHANGE = {
    "postgres_settings": {"shared_buffers": "136MB"}
}  # the owner roles' credentials, only while migrate_all runs
# HTTP(S) from another host of the network (db-blog): the status, the headers and the body as JSON; no redirect
# is followed and TLS is verified against the test inventory's certificate, for the name app-1.
CLIENT = """
import http.client, json, ssl, sys
scheme, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if scheme == "https":
    tls = ssl.create_default_context(cafile=sys.argv[4])
    conn = http.client.HTTPSConnection("app-1", port, timeout=10, context=tls)
else:
    conn = http.client.HTTPConnection("app-1", port, timeout=10)
try:
    conn.request("GET", path)
    r = conn.getresponse()
    headers = {k.lower(): v for k, v in r.getheaders()}
    print(json.dumps({"status": r.status, "headers": headers, "body": r.read().decode()}))
except OSError as error:
    print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
"""
# Writes through the multi-host conninfo the app uses (interface 1), as the runtime role (the app host's app.env,
# through systemd-run: no password on a command line): `count` rows named label-<i>, each retried (every 0.2 s,
# until `seconds` have passed) until a node accepts it; prints the node that took the last one.
WRITER = """
import os, sys, time, psycopg
label, count, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
conninfo = psycopg.conninfo.make_conninfo(
    host="db-shop,db-shop-2", dbname="shop", user=os.environ["SHOP_DB_USER"], password=os.environ["SHOP_DB_PASSWORD"],
    connect_timeout=2, target_session_attrs="read-write")
deadline = time.monotonic() + seconds
for i in range(count):
    while True:
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute("INSERT INTO shop_product (name, price, stock) VALUES (%s, 1, 1)", (f"{label}-{i}",))
                node, acknowledged = conn.info.host, time.time()
            break
        except psycopg.Error as error:
            if time.monotonic() > deadline:
                sys.exit(f"{label}-{i}: no node took the write within {seconds}s: {error}")
            time.sleep(0.2)
print(node, acknowledged)
"""
BROKEN_MIGRATION = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("blog", "LEAF")]
    operations = [migrations.RunSQL("SELECT * FROM a_table_that_does_not_exist")]
"""


@pytest.fixture(scope="module")
def hosts() -> Iterator[Hosts]:
    """Docker must answer: under CI=true a missing engine fails the run; elsewhere it skips with the reason."""
    try:
        ensure_docker()
    except DockerUnavailableError as error:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true: {error}", pytrace=False)
        pytest.skip(str(error))
    with throwaway_hosts(ensure_host_image()) as started:
        yield started


@pytest.fixture(scope="module")
def first_deploy(hosts: Hosts) -> PlaybookRun:
    run = run_playbook(hosts)
    assert run.returncode == 0, f"first deploy failed:\n{run.output[-8000:]}"
    return run


def test_first_deploy_provisions_every_host(first_deploy: PlaybookRun) -> None:
    recap = first_deploy.recap
    assert set(recap) == ALL_HOSTS
    for host, counts in recap.items():
        assert counts["failed"] == 0 and counts["unreachable"] == 0, (host, counts)
        assert counts["changed"] > 0, (host, counts)


def test_readyz_on_the_app_host_reports_every_database_ok(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    status, body = hosts.http_get("app-1", "/readyz")
    report = json.loads(body)
    assert status == 200, body
    assert {alias: db["status"] for alias, db in report["databases"].items()} == dict.fromkeys(TOPOLOGY, "ok")


@pytest.mark.parametrize("host", sorted(DATABASES))
def test_each_database_host_holds_only_its_own_database_and_tables(
    hosts: Hosts, first_deploy: PlaybookRun, host: str
) -> None:
    database, _ = DATABASES[host]
    assert hosts.psql(host, "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1") == sorted(
        ["postgres", database]
    )
    tables = hosts.psql(host, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'", database)
    assert tables, f"{host}: no tables in {database}"
    strays = [table for table in tables if not table.startswith(TABLE_PREFIXES[host])]
    assert strays == [], f"{host}/{database} holds tables of another database: {strays}"


@pytest.mark.parametrize("host", sorted(DATABASES))
def test_runtime_role_has_row_rights_on_every_table_and_no_ddl(
    hosts: Hosts, first_deploy: PlaybookRun, host: str
) -> None:
    database, runtime = DATABASES[host]
    rights = hosts.psql(host, f"SET ROLE {runtime}; {RIGHTS_ON_EVERY_TABLE}", database)
    assert rights == ["t|f"], f"{runtime} on {database}: every row right on every table | any other right"
    history = hosts.psql(host, f"SET ROLE {runtime}; {RIGHTS_ON_THE_HISTORY}", database)
    assert history == ["t|f"], f"{runtime} on {database}'s history: SELECT | any write"
    denied = hosts.exec(
        host, "runuser", "-u", "postgres", "--", "psql", "-X", "-d", database,
        "-c", f"SET ROLE {runtime}; CREATE TABLE intruder (id int)", check=False,
    )  # fmt: skip
    assert denied.returncode != 0 and "permission denied for schema public" in denied.stderr


@pytest.mark.parametrize("host", sorted(HOST_ALIAS))
def test_pg_hba_admits_the_app_host_and_the_rehearsal_reader_only(
    hosts: Hosts, first_deploy: PlaybookRun, host: str
) -> None:
    """Every member of a Patroni cluster has the same file, plus replication and pg_rewind from the members."""
    database, runtime = TOPOLOGY[HOST_ALIAS[host]]["name"], TOPOLOGY[HOST_ALIAS[host]]["user"]
    owner = runtime.replace("_app", "_owner")
    app_address = hosts.exec("app-1", "hostname", "-i").stdout.split()[0]
    text = hosts.exec(host, "cat", "/etc/postgresql/15/main/pg_hba.conf").stdout
    rules = {tuple(line.split()) for line in text.splitlines() if line.strip() and not line.startswith("#")}
    members = TOPOLOGY[HOST_ALIAS[host]]["hosts"]
    addresses = (
        [hosts.exec(member, "hostname", "-i").stdout.split()[0] for member in members] if len(members) > 1 else []
    )
    assert rules == {
        ("local", "all", "postgres", "peer"),
        ("host", database, owner, f"{app_address}/32", "scram-sha-256"),
        ("host", database, runtime, f"{app_address}/32", "scram-sha-256"),
        ("host", database, "rehearsal_reader", "192.0.2.10/32", "scram-sha-256"),  # multidb_rehearsal_clients
        *(("host", "replication", "replicator", f"{address}/32", "scram-sha-256") for address in addresses),
        *(("host", "postgres", "rewinder", f"{address}/32", "scram-sha-256") for address in addresses),
    }
    if len(members) > 1:  # the server reads this file, not one of Patroni's
        assert hosts.psql(host, "SHOW hba_file") == ["/etc/postgresql/15/main/pg_hba.conf"]


def test_patroni_runs_shop_db_with_a_leader_and_a_synchronous_standby(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    """One deploy: etcd on three hosts, db-shop leads (it bootstrapped the cluster), db-shop-2 is its sync standby."""
    members = _patroni_members(hosts)
    assert members == {"db-shop": ("Leader", "running"), "db-shop-2": ("Sync Standby", members["db-shop-2"][1])}
    assert members["db-shop-2"][1] in ("running", "streaming"), members
    config = yaml.safe_load(hosts.exec("db-shop-2", *PATRONI_CTL, "show-config").stdout)
    assert {key: config.get(key) for key in PATRONI_SETTINGS} == PATRONI_SETTINGS
    assert config["postgresql"]["use_pg_rewind"] is True
    etcd = hosts.exec("db-main", "etcdctl", "member", "list").stdout
    assert sorted(line.split(", ")[2] for line in etcd.splitlines()) == ["db-blog", "db-main", "db-shop"], etcd
    # Debian's own unit never runs the cluster; the standby holds the database, read-only.
    assert hosts.exec("db-shop", "systemctl", "is-active", "postgresql@15-main", check=False).stdout.strip() != "active"
    assert hosts.psql("db-shop-2", "SELECT pg_is_in_recovery()") == ["t"]
    assert "shop_product" in hosts.psql("db-shop-2", "SELECT tablename FROM pg_tables", "shop")
    # Interface 2: the app's full /readyz view names the node it reached and the standby's lag.
    status, body = hosts.http_get("app-1", "/readyz")
    shop = json.loads(body)["databases"][HA_ALIAS]
    assert status == 200 and shop["leader"] == "db-shop", body
    assert [(s["host"], s["status"]) for s in shop["standbys"]] == [("db-shop-2", "ok")], body


def test_the_app_lists_every_node_of_the_patroni_alias(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    """Interface 1: host is every member, comma-separated; libpq keeps the one that accepts writes."""
    config = yaml.safe_load(hosts.exec("app-1", "cat", "/etc/multidb/app.yaml").stdout)
    shop = config["databases"][HA_ALIAS]
    assert shop["host"] == "db-shop,db-shop-2"
    assert shop["options"] == {"connect_timeout": 2, "target_session_attrs": "read-write"}
    assert config["databases"]["blog_db"]["host"] == "db-blog"


def test_database_hosts_refuse_hosts_that_are_not_app_hosts(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    """db-blog is no app host: db-main's pg_hba has no line for it, whatever the credentials."""
    refused = hosts.exec(
        "db-blog", "env", "PGPASSWORD=test-main-app-pw", "PGCONNECT_TIMEOUT=5",
        "psql", "-X", "-h", "db-main", "-U", "main_app", "-d", "main", "-c", "SELECT 1", check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "no pg_hba.conf entry" in refused.stderr


def test_app_host_reaches_only_its_roles_own_database(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    """From the app host, blog's runtime role gets into blog but not into main."""
    connect = (
        "import sys, psycopg\n"
        "try:\n"
        "    psycopg.connect(sys.argv[1], connect_timeout=5).close()\n"
        "except psycopg.OperationalError as e:\n"
        "    sys.exit(str(e))\n"
    )
    python = "/opt/multidb/current/venv/bin/python"
    own = "host=db-blog dbname=blog user=blog_app password=test-blog-app-pw"
    other = "host=db-main dbname=main user=blog_app password=test-blog-app-pw"
    assert hosts.exec("app-1", python, "-c", connect, own, check=False).returncode == 0
    refused = hosts.exec("app-1", python, "-c", connect, other, check=False)
    assert refused.returncode != 0 and "no pg_hba.conf entry" in refused.stderr


def test_the_app_is_served_over_https_through_the_proxy(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    """From another host: TLS verified against the inventory's certificate, the request id, the security block."""
    ready = _from_db_blog(hosts, "https", 443, "/readyz")
    assert ready.get("status") == 200, ready
    assert re.fullmatch(r"[0-9a-f]{32}", ready["headers"]["x-request-id"]), ready["headers"]
    admin = _from_db_blog(hosts, "https", 443, "/admin/login/")
    assert admin.get("status") == 200, admin
    # Django sends HSTS only on a request it takes for HTTPS: the proxy's X-Forwarded-Proto is trusted.
    assert admin["headers"].get("strict-transport-security", "").startswith("max-age=31536000"), admin["headers"]
    assert "secure" in admin["headers"].get("set-cookie", "").lower(), admin["headers"]


def test_plain_http_redirects_to_https(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    answer = _from_db_blog(hosts, "http", 80, "/api/posts/?page=2")
    assert answer.get("status") == 301, answer
    assert answer["headers"]["location"] == "https://app-1/api/posts/?page=2"


def test_gunicorn_is_not_reachable_from_another_host(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    answer = _from_db_blog(hosts, "http", 8000, "/readyz")
    assert answer.get("error", "").startswith("ConnectionRefusedError"), answer
    listening = hosts.exec("app-1", "ss", "-Hltn", "sport = :8000").stdout.split()
    assert "127.0.0.1:8000" in listening and "0.0.0.0:8000" not in listening, listening


def test_no_owner_credentials_remain_on_the_app_host(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    """migrate_all had the owner roles' passwords only while it ran; app.env holds the runtime roles' alone."""
    owner_passwords = [p["owner"] for p in _vault()["vault_multidb_passwords"].values()]
    assert "migrate_all" in first_deploy.output
    found = hosts.exec(
        "app-1", "grep", "-rlF", *(f"--regexp={p}" for p in owner_passwords), "/etc", "/run", "/opt/multidb", "/root",
        check=False,
    )  # fmt: skip
    assert found.returncode == 1 and found.stdout == "", f"owner passwords found in: {found.stdout}"
    assert hosts.exec("app-1", "test", "-e", "/etc/multidb/migrate.env", check=False).returncode == 1
    assert hosts.exec("app-1", "test", "-e", MIGRATE_ENV, check=False).returncode == 1


@pytest.mark.parametrize("host", sorted(DATABASES))
def test_runtime_role_has_the_configs_timeouts(hosts: Hosts, first_deploy: PlaybookRun, host: str) -> None:
    _, runtime = DATABASES[host]
    alias = HOST_ALIAS[host]
    wanted = _topology_filter().runtime_timeouts(TOPOLOGY[alias])
    rows = hosts.psql(host, "SELECT rolname || ' ' || unnest(rolconfig) FROM pg_roles")
    settings = [row.split(" ", 1)[1] for row in rows if row.startswith(f"{runtime} ")]
    assert sorted(settings) == sorted(
        [f"idle_in_transaction_session_timeout={wanted['idle_in_transaction']}",
         f"statement_timeout={wanted['statement']}"]
    )  # fmt: skip


def test_pg_hba_ends_with_a_newline(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    """So that a rule an operator appends stays a line of its own (the check-mode test below appends one)."""
    assert hosts.exec("db-main", "tail", "-c", "1", PG_HBA).stdout == "\n"


def test_backups_run_on_the_repository_host_and_pass_pgbackrest_check(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    """Every alias of the topology is a stanza with a backup; the timers are there; archiving works end to end."""
    info = json.loads(_pgbackrest(hosts, "--output=json", "info").stdout)
    assert {stanza["name"]: stanza["status"]["message"] for stanza in info} == dict.fromkeys(TOPOLOGY, "ok")
    assert all(stanza["backup"] for stanza in info), info
    for alias in TOPOLOGY:
        _pgbackrest(hosts, f"--stanza={alias}", "check")
    timers = hosts.exec("backup-1", "systemctl", "list-timers", "--all", "--no-legend", "pgbackrest-*").stdout
    assert {f"pgbackrest-{kind}.timer" for kind in ("full", "diff", "incr")} <= set(timers.split()), timers
    for member in HA_MEMBERS:  # every member: whichever leads archives (archive_mode on: standbys do not)
        settings = hosts.psql(member, "SELECT name || '=' || setting FROM pg_settings WHERE name LIKE 'archive_%'")
        assert "archive_command=pgbackrest --stanza=shop_db archive-push %p" in settings
        assert "archive_timeout=60" in settings and "archive_mode=on" in settings


def test_the_patroni_alias_is_backed_up_from_its_standby(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    """Both members are pg1/pg2 of the stanza on the repository host; pgBackRest copies the files from the standby."""
    conf = hosts.exec("backup-1", "cat", "/etc/pgbackrest/pgbackrest.conf").stdout
    stanza = conf.split("[shop_db]\n", 1)[1].split("\n[", 1)[0]
    assert "pg1-host=db-shop\n" in stanza and "pg2-host=db-shop-2\n" in stanza and "backup-standby=y" in stanza
    log = hosts.exec("backup-1", "cat", "/var/log/pgbackrest/shop_db-backup.log").stdout
    assert "replay on the standby" in log, log[-3000:]


def test_restore_brings_back_a_dropped_table_to_the_time_before(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    """Rows, a backup by the timer's service, time T, DROP TABLE on db-shop; restore.yml to T: the rows are back."""
    database, _ = DATABASES["db-shop"]
    products = "SELECT name FROM shop_product WHERE name LIKE 'restore-%' ORDER BY name"
    hosts.psql(
        "db-shop",
        "INSERT INTO shop_product (name, price, stock) SELECT 'restore-' || i, 1, i FROM generate_series(1, 3) i",
        database,
    )
    hosts.exec("backup-1", "systemctl", "start", "pgbackrest-backup@incr.service", timeout=300)
    target = hosts.psql("db-shop", "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")[0]
    hosts.psql("db-shop", "INSERT INTO shop_product (name, price, stock) VALUES ('restore-after', 1, 1)", database)
    hosts.psql("db-shop", "DROP TABLE shop_product CASCADE", database)

    run = run_playbook(hosts, "--extra-vars", json.dumps({"restore_time": target}), playbook=RESTORE_PLAYBOOK)

    assert run.returncode == 0, run.output[-8000:]
    assert hosts.psql("db-shop", products, database) == ["restore-1", "restore-2", "restore-3"]
    incr = json.loads(_pgbackrest(hosts, "--output=json", "--stanza=shop_db", "info").stdout)[0]["backup"][-1]
    assert f"shop_db: backup {incr['label']}" in run.output, "the incremental backup before T is the one restored"
    for alias in TOPOLOGY:  # one consistent target for every alias
        assert f"{alias}: backup " in run.output and f"target {target[:19]}" in run.output
    assert "WAL replayed" in run.output and "migrate_all --check (exit 0)" in run.output
    status, body = hosts.http_get("app-1", "/readyz")
    assert status == 200, body


def test_a_restore_to_a_future_time_is_refused_before_anything_changes(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    running = _service_state(hosts)
    run = run_playbook(
        hosts, "--extra-vars", json.dumps({"restore_time": "2999-01-01 00:00:00+00"}), playbook=RESTORE_PLAYBOOK
    )
    assert run.returncode == 2, run.output[-4000:]
    assert "restore refused, nothing changed: restore_time: 2999-01-01 00:00:00+00 is in the future" in run.output
    assert "Stop the app" not in run.output and _service_state(hosts) == running


def test_killing_the_patroni_leader_host_fails_over_within_the_rto_goal_and_loses_no_write(
    hosts: Hosts, first_deploy: PlaybookRun
) -> None:
    """docker kill of the leader's host (no graceful stop): the sync standby leads and takes writes within ttl +
    loop_wait + 5 s, every acknowledged write is there; the old leader, started again, rejoins as the sync standby."""
    leader = next(name for name, (role, _) in _patroni_members(hosts).items() if role == "Leader")
    standby = next(member for member in HA_MEMBERS if member != leader)
    assert _write_shop(hosts, "failover-before", 20, 10)[0] == leader
    killed = time.time()  # the hosts are containers: they and this process read one clock
    docker("kill", hosts.container(leader))
    try:
        took, acknowledged = _write_shop(hosts, "failover-after", 1, 60)
        # Kill to acknowledged write: the writer's own start-up on the app host is not the database's downtime.
        rto = acknowledged - killed
        rows = hosts.psql(standby, "SELECT count(*) FROM shop_product WHERE name LIKE 'failover-%'", "shop")
        figures = {"rto_seconds": round(rto, 1), "goal_seconds": RTO_GOAL, "acknowledged_before": 20,
                   "found_after": int(rows[0]) - 1, "new_leader": took, **PATRONI_SETTINGS}  # fmt: skip
        print(f"ansible failover: {json.dumps(figures)}")
        (REPO / "build" / "ansible").mkdir(parents=True, exist_ok=True)
        (REPO / "build" / "ansible" / "failover.json").write_text(json.dumps(figures) + "\n")
        assert took == standby, figures
        assert rows == ["21"], "acknowledged writes lost"
        assert rto <= RTO_GOAL, figures
        assert _ready(hosts, within=20), "/readyz did not come back after the failover"
        assert json.loads(hosts.http_get("app-1", "/readyz")[1])["databases"][HA_ALIAS]["leader"] == standby
    finally:
        # Whatever failed above, the later tests deploy to this host: it must be running again.
        docker("start", hosts.container(leader))
    deadline = time.monotonic() + 180
    while _patroni_members(hosts, on=standby, check=False).get(leader, ("", ""))[0] != "Sync Standby":
        assert time.monotonic() < deadline, (
            f"{leader} did not rejoin: {_patroni_members(hosts, on=standby, check=False)}"
        )
        time.sleep(2)
    assert hosts.psql(leader, "SELECT count(*) FROM shop_product WHERE name LIKE 'failover-%'", "shop") == ["21"]


@pytest.mark.parametrize(
    ("secret_key", "refused"),
    [
        ("too-short-a-key", "vault_multidb_secret_key (app_secret_key) is shorter than 32 characters"),
        ("example", "vault_multidb_secret_key (app_secret_key): a CHANGE-ME placeholder, refused in environment"),
    ],
)
def test_a_bad_app_input_stops_the_deploy_before_anything_changes(
    hosts: Hosts, first_deploy: PlaybookRun, secret_key: str, refused: str
) -> None:
    """Checked in the first play, on every host: the database play never starts, no file is written."""
    if secret_key == "example":  # what the staging vault example ships
        secret_key = _vault(ANSIBLE_DIR / "inventories/staging/group_vars/all/vault.yml.example")[
            "vault_multidb_secret_key"
        ]
    before = _stamps(hosts)
    run = run_playbook(hosts, "--extra-vars", json.dumps({"vault_multidb_secret_key": secret_key}))
    assert run.returncode == 2, run.output[-4000:]
    assert re.sub(r"\s+", " ", refused) in re.sub(r"\s+", " ", run.output), run.output[-4000:]
    assert secret_key not in run.output
    assert "PLAY [Provision the PostgreSQL hosts]" not in run.output
    assert {host: counts["changed"] for host, counts in run.recap.items()} == dict.fromkeys(ALL_HOSTS, 0)
    assert _stamps(hosts) == before
    assert hosts.exec("app-1", "test", "-e", MIGRATE_ENV, check=False).returncode == 1


def test_second_run_changes_nothing_on_any_host(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    run = run_playbook(hosts)
    assert run.returncode == 0, run.output[-8000:]
    assert {host: counts["changed"] for host, counts in run.recap.items()} == dict.fromkeys(ALL_HOSTS, 0), (
        _changed_tasks(run)
    )


def test_check_diff_shows_the_pg_hba_drift_and_nothing_else(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    """An operator appends a rule to db-main's pg_hba.conf: it breaks none; check mode shows it with its real diff."""
    hosts.exec("db-main", "sh", "-c", f"echo '{OPERATOR_RULE}' >> {PG_HBA}")
    hosts.exec("db-main", "systemctl", "reload", "postgresql@15-main")
    rules = hosts.psql("db-main", "SELECT coalesce(error, '') || '|' || array_to_string(user_name, ',') || '|' || "
                       "coalesce(address, '') FROM pg_hba_file_rules")  # fmt: skip
    assert "|all|10.9.9.9" in rules and all(rule.startswith("|") for rule in rules), rules
    assert sum(rule.startswith("|main_app|") for rule in rules) == 1, rules
    run = run_playbook(hosts, "--check", "--diff")
    assert run.returncode == 0, run.output[-8000:]
    changed = dict.fromkeys(ALL_HOSTS, 0) | {"db-main": 2}  # pg_hba.conf, and the reload it would notify
    assert {host: counts["changed"] for host, counts in run.recap.items()} == changed, _changed_tasks(run)
    assert [task.split("]")[0] for task in _changed_tasks(run)] == [
        "TASK [postgres : Admit only the database's two roles from the client addresses, with scram-sha-256",
        "RUNNING HANDLER [postgres : Reload PostgreSQL",
    ]
    task = run.output.split("TASK [postgres : Admit only the database's two roles", 1)[1].split("\nTASK [", 1)[0]
    diff = [line for line in task.splitlines() if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert diff == [f"-{OPERATOR_RULE}"], task
    assert "changed: [db-main]" in task and '"mode"' not in task
    assert hosts.exec("db-main", "grep", "-cxF", OPERATOR_RULE, PG_HBA).stdout.strip() == "1", "check mode wrote"


@pytest.fixture(scope="module")
def broken_release_deploy(
    hosts: Hosts, first_deploy: PlaybookRun, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PlaybookRun, tuple[str, str], dict[str, tuple[str, str]]]:
    """One deploy serves two points (a deploy costs minutes): a release whose migration fails, and a server setting
    that needs a restart (SETTING_CHANGE), which the database play applies before the migration fails.
    Returns the run, the app's (release, PID) and the Patroni members (role, state) from before it."""
    running = _service_state(hosts)
    members = _patroni_members(hosts)
    broken = _source_with_a_broken_blog_migration(tmp_path_factory.mktemp("release"))
    run = run_playbook(hosts, "--extra-vars", json.dumps({"app_source_dir": str(broken), **SETTING_CHANGE}))
    return run, running, members


def test_failed_migration_leaves_the_previous_release_serving(
    hosts: Hosts, broken_release_deploy: tuple[PlaybookRun, tuple[str, str], dict[str, tuple[str, str]]]
) -> None:
    run, running, _ = broken_release_deploy
    assert run.returncode != 0
    assert "migrate_all failed on blog_db" in run.output
    assert "Switch the app hosts to the release" not in run.output, "a host was switched after a failed migration"
    assert _service_state(hosts) == running, "the running release was switched or restarted"
    status, body = hosts.http_get("app-1", "/readyz")
    assert status == 200, body


def test_a_setting_that_needs_a_restart_restarts_the_patroni_members_one_at_a_time_the_leader_after_a_switchover(
    hosts: Hosts, broken_release_deploy: tuple[PlaybookRun, tuple[str, str], dict[str, tuple[str, str]]]
) -> None:
    """Role patroni's rolling restart: the standby restarts, the leader hands over to it, then restarts itself."""
    run, _, before = broken_release_deploy
    leader = next(name for name, (role, _) in before.items() if role == "Leader")
    standby = next(name for name in HA_MEMBERS if name != leader)
    tasks = [task for task in _changed_tasks(run) if "[patroni : " in task]
    assert [task.split("]")[0].split(" : ")[1] for task in tasks] == [
        "Restart the standbys that need it, one at a time",
        "Switch over to the synchronous standby before restarting the leader",
        "Restart the former leader, now a standby",
    ], tasks
    assert f"item={standby}" in tasks[0], tasks
    after = _patroni_members(hosts)
    assert after == {standby: ("Leader", "running"), leader: ("Sync Standby", after[leader][1])}, after
    for member in HA_MEMBERS:
        assert hosts.psql(member, "SHOW shared_buffers") == ["136MB"], member


def test_the_next_deploy_rewrote_pg_hba_without_the_operators_rule(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    """The failed-migration deploy above ran the database play: pg_hba.conf is the managed one again."""
    text = hosts.exec("db-main", "cat", PG_HBA).stdout
    assert OPERATOR_RULE not in text and text.endswith("\n")


def _patroni_members(hosts: Hosts, on: str = "db-shop-2", check: bool = True) -> dict[str, tuple[str, str]]:
    """patronictl list on a member: member -> (role, state); {} when it does not answer (check=False)."""
    done = hosts.exec(on, *PATRONI_CTL, "list", "--format=json", check=check)
    if done.returncode != 0:
        return {}
    return {m["Member"]: (m["Role"], m["State"]) for m in json.loads(done.stdout)}


def _write_shop(hosts: Hosts, label: str, count: int, seconds: float) -> tuple[str, float]:
    """WRITER on the app host, as the app user with the runtime roles of app.env: the node that took the writes
    and when (time.time()) the last one was acknowledged."""
    done = hosts.exec(
        "app-1", "systemd-run", "--wait", "--pipe", "--collect", "--quiet", "--uid=multidb",
        "--property=EnvironmentFile=/etc/multidb/app.env", "/opt/multidb/current/venv/bin/python", "-c", WRITER,
        label, str(count), str(seconds), timeout=seconds + 30,
    )  # fmt: skip
    node, acknowledged = done.stdout.split()
    return node, float(acknowledged)


def _ready(hosts: Hosts, within: float) -> bool:
    deadline = time.monotonic() + within
    while True:
        status, _ = hosts.http_get("app-1", "/readyz")
        if status == 200 or time.monotonic() > deadline:
            return status == 200
        time.sleep(1)


def _from_db_blog(hosts: Hosts, scheme: str, port: int, path: str) -> dict[str, Any]:
    """CLIENT run on db-blog (no app host: what anyone on the network sees of app-1)."""
    ca_file = "/root/multidb-test-ca.crt"
    docker("cp", str(TEST_CERTIFICATE), f"{hosts.container('db-blog')}:{ca_file}")
    done = hosts.exec("db-blog", "python3", "-c", CLIENT, scheme, str(port), path, ca_file)
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def _vault(path: Path = ANSIBLE_DIR / "inventories/test/group_vars/all/vault.yml") -> dict[str, Any]:
    vault: dict[str, Any] = yaml.safe_load(path.read_text())
    return vault


def _topology_filter() -> ModuleType:
    """ansible/filter_plugins/multidb_topology.py (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(
        "multidb_topology", ANSIBLE_DIR / "filter_plugins/multidb_topology.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stamps(hosts: Hosts) -> dict[str, str]:
    """Modification time and checksum of the files an aborted deploy must not touch."""
    return {
        f"{host}:{path}": hosts.exec(host, "sh", "-c", f"stat -c %Y {path} && md5sum {path}").stdout
        for host, paths in UNTOUCHED.items()
        for path in paths
    }


def _pgbackrest(hosts: Hosts, *args: str) -> subprocess.CompletedProcess[str]:
    """pgbackrest on the repository host, as the repository user."""
    return hosts.exec("backup-1", "runuser", "-u", "pgbackrest", "--", "pgbackrest", *args, timeout=300)


def _service_state(hosts: Hosts) -> tuple[str, str]:
    """(the release current points at, gunicorn's main PID): both change on a switch or restart."""
    release = hosts.exec("app-1", "readlink", "/opt/multidb/current").stdout.strip()
    pid = hosts.exec("app-1", "systemctl", "show", "--property=MainPID", "--value", "multidb").stdout.strip()
    assert release and pid not in ("", "0")
    return release, pid


def _source_with_a_broken_blog_migration(tmp_path: Path) -> Path:
    """This repository's app/ and lock file, plus a blog migration that fails on PostgreSQL."""
    source = tmp_path / "broken-release"
    shutil.copytree(REPO / "app", source / "app", ignore=shutil.ignore_patterns("__pycache__"))
    (source / "requirements").mkdir()
    shutil.copy(REPO / "requirements" / "base.lock", source / "requirements" / "base.lock")
    migrations = source / "app" / "apps" / "blog" / "migrations"
    leaf = max(p.stem for p in migrations.glob("[0-9][0-9][0-9][0-9]_*.py"))
    (migrations / "9999_fails_on_purpose.py").write_text(BROKEN_MIGRATION.replace("LEAF", leaf))
    return source


def _changed_tasks(run: PlaybookRun) -> list[str]:
    """The tasks that reported a change, for the failure message."""
    task = ""
    changed = []
    for line in run.output.splitlines():
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            task = line
        elif re.match(r"changed: \[", line):
            changed.append(f"{task} {line}")
    return changed
