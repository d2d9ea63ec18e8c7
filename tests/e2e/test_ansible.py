"""deploy.yml and restore.yml against the test inventory's throwaway systemd hosts (one per database, app-1, backup-1).

The tests share one set of hosts and run in file order: the first deploy (fixture), what it built,
a backup and a point-in-time restore, then the second run, check mode, and last a deploy whose
migration fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.ansible_hosts.throwaway import (
    HOSTS,
    REPO,
    RESTORE_PLAYBOOK,
    DockerUnavailableError,
    Hosts,
    PlaybookRun,
    ensure_docker,
    ensure_host_image,
    inventory_databases,
    run_playbook,
    throwaway_hosts,
)

pytestmark = pytest.mark.e2e

TOPOLOGY = inventory_databases()  # alias -> multidb_databases entry, from config/staging.yaml and the test inventory
DATABASES = {db["host"]: (db["name"], db["user"]) for db in TOPOLOGY.values()}  # host -> (database, runtime role)
# default holds every app no alias lists (auth, admin, sessions, ...); an alias migrating its own history
# (migrate in operations) also holds django_migrations.
TABLE_PREFIXES = {
    db["host"]: ("auth_", "django_", "multidb_")
    if alias == "default"
    else tuple(f"{app.rsplit('.', 1)[-1]}_" for app in db.get("apps", []))
    + (("django_",) if "migrate" in db.get("operations", []) else ())
    for alias, db in TOPOLOGY.items()
}
ALL_HOSTS = set(HOSTS)
RIGHTS_ON_EVERY_TABLE = """
SELECT bool_and(has_table_privilege(t, 'SELECT, INSERT, UPDATE, DELETE')),
       bool_or(has_table_privilege(t, 'TRUNCATE, REFERENCES, TRIGGER'))
FROM (SELECT format('public.%I', tablename) AS t FROM pg_tables WHERE schemaname = 'public') AS tables
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
    denied = hosts.exec(
        host, "runuser", "-u", "postgres", "--", "psql", "-X", "-d", database,
        "-c", f"SET ROLE {runtime}; CREATE TABLE intruder (id int)", check=False,
    )  # fmt: skip
    assert denied.returncode != 0 and "permission denied for schema public" in denied.stderr


@pytest.mark.parametrize("host", sorted(DATABASES))
def test_pg_hba_admits_the_app_host_and_the_rehearsal_reader_only(
    hosts: Hosts, first_deploy: PlaybookRun, host: str
) -> None:
    database, runtime = DATABASES[host]
    owner = runtime.replace("_app", "_owner")
    app_address = hosts.exec("app-1", "hostname", "-i").stdout.split()[0]
    text = hosts.exec(host, "cat", "/etc/postgresql/15/main/pg_hba.conf").stdout
    rules = {tuple(line.split()) for line in text.splitlines() if line.strip() and not line.startswith("#")}
    assert rules == {
        ("local", "all", "postgres", "peer"),
        ("host", database, owner, f"{app_address}/32", "scram-sha-256"),
        ("host", database, runtime, f"{app_address}/32", "scram-sha-256"),
        ("host", database, "rehearsal_reader", "192.0.2.10/32", "scram-sha-256"),  # multidb_rehearsal_clients
    }


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


def test_backups_run_on_the_repository_host_and_pass_pgbackrest_check(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    """Every alias of the topology is a stanza with a backup; the timers are there; archiving works end to end."""
    info = json.loads(_pgbackrest(hosts, "--output=json", "info").stdout)
    assert {stanza["name"]: stanza["status"]["message"] for stanza in info} == dict.fromkeys(TOPOLOGY, "ok")
    assert all(stanza["backup"] for stanza in info), info
    for alias in TOPOLOGY:
        _pgbackrest(hosts, f"--stanza={alias}", "check")
    timers = hosts.exec("backup-1", "systemctl", "list-timers", "--all", "--no-legend", "pgbackrest-*").stdout
    assert {f"pgbackrest-{kind}.timer" for kind in ("full", "diff", "incr")} <= set(timers.split()), timers
    settings = hosts.psql("db-shop", "SELECT name || '=' || setting FROM pg_settings WHERE name LIKE 'archive_%'")
    assert "archive_command=pgbackrest --stanza=shop_db archive-push %p" in settings
    assert "archive_timeout=60" in settings


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


def test_second_run_changes_nothing_on_any_host(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    run = run_playbook(hosts)
    assert run.returncode == 0, run.output[-8000:]
    assert {host: counts["changed"] for host, counts in run.recap.items()} == dict.fromkeys(ALL_HOSTS, 0), (
        _changed_tasks(run)
    )


def test_check_diff_run_is_clean(hosts: Hosts, first_deploy: PlaybookRun) -> None:
    run = run_playbook(hosts, "--check", "--diff")
    assert run.returncode == 0, run.output[-8000:]
    assert {host: counts["changed"] for host, counts in run.recap.items()} == dict.fromkeys(ALL_HOSTS, 0), (
        _changed_tasks(run)
    )


def test_failed_migration_leaves_the_previous_release_serving(
    hosts: Hosts, first_deploy: PlaybookRun, tmp_path: Path
) -> None:
    running = _service_state(hosts)
    broken = _source_with_a_broken_blog_migration(tmp_path)

    run = run_playbook(hosts, "--extra-vars", json.dumps({"app_source_dir": str(broken)}))

    assert run.returncode != 0
    assert "migrate_all failed on blog_db" in run.output
    assert "Switch the app hosts to the release" not in run.output, "a host was switched after a failed migration"
    assert _service_state(hosts) == running, "the running release was switched or restarted"
    status, body = hosts.http_get("app-1", "/readyz")
    assert status == 200, body


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
