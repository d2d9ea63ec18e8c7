"""`rehearse_migrations` against the staging fixture, as an operator runs it before a release."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.integration.appserver import Result
from tests.rehearsal.staging import REPO, Staging, release
from tests.unit.cli import manage

# The terminal lines, JSON and Markdown say "copy" for the database in a clone server and for its dump: those
# words are the command's interface, asserted here as users read them.
TIMEOUT = 300  # three containers to start on a loaded machine
NEXT = ("ledger.0002_entry_currency_amount_cents", "ledger.0003_fill_amount_cents")
FAILING = "shop.0002_product_name_unique"
# The bookkeeping a migrate_all run writes: the history, and its last-run record (the status page reads it).
HISTORY = ("public.django_migrations", "public.multidb_migration_history", "public.multidb_migrate_run")


@dataclass
class Rehearsed:
    result: Result
    report: dict[str, Any]
    output: Path
    staging_before: dict[str, Any]
    staging_after: dict[str, Any]


def rehearse(
    staging: Staging,
    output: Path,
    release_name: str,
    *args: str,
    writer: bool = False,
    env: dict[str, str] | None = None,
) -> Rehearsed:
    before = staging.fingerprint()
    stack = staging.owner if writer else staging.reader
    command = ("rehearse_migrations", "--output", str(output), *args)
    result = manage(*command, config=stack.config, env={**release(release_name), **(env or {})}, timeout=TIMEOUT)
    report_file = output / "report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    return Rehearsed(result, report, output, before, staging.fingerprint())


@pytest.fixture(scope="module")
def next_release(staging: Staging, tmp_path_factory: pytest.TempPathFactory) -> Rehearsed:
    """Release v2 (two ledger migrations on default) rehearsed with --json."""
    return rehearse(staging, tmp_path_factory.mktemp("v2"), "v2", "--json")


@pytest.fixture(scope="module")
def broken_release(staging: Staging, tmp_path_factory: pytest.TempPathFactory) -> Rehearsed:
    """Release v2 plus a shop migration that fails on staging's duplicate product names; terminal output."""
    return rehearse(staging, tmp_path_factory.mktemp("broken"), "broken")


def test_rehearsal_of_a_good_release_exits_0_and_prints_only_json(next_release: Rehearsed) -> None:
    assert next_release.result.returncode == 0, next_release.result.stderr
    printed = json.loads(next_release.result.stdout)
    assert printed["ok"] is True
    assert printed == next_release.report


def test_report_lists_the_new_migrations_with_durations_for_default_only(next_release: Rehearsed) -> None:
    aliases = next_release.report["aliases"]
    applied = aliases["default"]["migrations"]
    assert tuple(step["migration"] for step in applied) == NEXT
    assert all(step["seconds"] >= 0 for step in applied)
    assert aliases["default"]["plan"] == list(NEXT)
    for alias in ("blog_db", "shop_db"):
        assert aliases[alias]["status"] == "ok"
        assert aliases[alias]["plan"] == [] and aliases[alias]["migrations"] == []
    assert aliases["blog_db"]["history"] == "default"  # migrate_to kept: its history was read from default's clone


def test_rows_per_table_match_staging_before_and_after(next_release: Rehearsed, staging: Staging) -> None:
    for alias, entry in next_release.report["aliases"].items():
        staged = {f"public.{table}": rows for table, (rows, _) in next_release.staging_before[alias].items()}
        assert {table: counts["source"] for table, counts in entry["rows"].items()} == staged
        for table, counts in entry["rows"].items():
            assert counts["before"] == counts["source"]
            if table not in HISTORY:
                assert counts["after"] == counts["before"], table
    ledger = next_release.report["aliases"]["default"]["rows"]["public.ledger_entry"]
    assert ledger == {"source": 500, "before": 500, "after": 500}


def test_staging_is_unchanged_after_a_rehearsal(next_release: Rehearsed, staging: Staging) -> None:
    assert next_release.staging_after == next_release.staging_before  # every table's rows, checksummed
    assert next_release.report["source_unchanged"] is True
    recorded = staging.owner.rows("default", "SELECT app, name FROM django_migrations WHERE app = 'ledger'")
    assert recorded == [("ledger", "0001_initial")]  # the rehearsed migrations were applied to the clone only
    columns = staging.owner.rows(
        "default", "SELECT column_name FROM information_schema.columns WHERE table_name = 'ledger_entry'"
    )
    assert "currency" not in {column for (column,) in columns}


def test_every_container_the_rehearsal_started_is_removed(next_release: Rehearsed) -> None:
    report = next_release.report
    assert len(report["containers"]) == 3 and report["leftovers"] == []
    client = docker.from_env()
    assert client.containers.list(all=True, filters={"label": f"multidb.rehearsal={report['run_id']}"}) == []


def test_markdown_report_shows_each_migration_with_its_duration(next_release: Rehearsed) -> None:
    markdown = (next_release.output / "report.md").read_text()
    default_section = markdown.split("## default")[1].split("## blog_db")[0]
    for name in NEXT:
        assert re.search(rf"\| {re.escape(name)} \| \d+\.\d{{3}} \|", default_section)
    assert "would succeed" in markdown and "Source untouched: yes" in markdown


def test_failing_migration_exits_1_naming_alias_and_migration(broken_release: Rehearsed) -> None:
    assert broken_release.result.returncode == 1
    assert f"shop_db in {FAILING}" in broken_release.result.stderr
    assert "could not create unique index" in broken_release.result.stderr
    assert "Traceback" not in broken_release.result.stderr


def test_other_aliases_results_are_still_reported_when_one_fails(broken_release: Rehearsed) -> None:
    aliases = broken_release.report["aliases"]
    assert broken_release.report["ok"] is False
    assert aliases["shop_db"]["status"] == "failed"
    assert aliases["shop_db"]["failed_migration"] == FAILING
    assert aliases["default"]["status"] == "ok"
    assert tuple(step["migration"] for step in aliases["default"]["migrations"]) == NEXT
    assert aliases["blog_db"]["status"] == "ok"
    markdown = (broken_release.output / "report.md").read_text()
    assert f"| {FAILING} | **failed** |" in markdown and "would FAIL on shop_db" in markdown
    assert broken_release.staging_after == broken_release.staging_before


def test_terminal_shows_one_line_per_alias_and_step_with_elapsed_time(broken_release: Rehearsed) -> None:
    steps: dict[str, set[str]] = {}
    for line in broken_release.result.stdout.splitlines():
        match = re.match(r"^\s*\d+\.\d\ds  (default|blog_db|shop_db)\s+(\w+):", line)
        if match:
            steps.setdefault(match[1], set()).add(match[2])
    for alias in ("default", "blog_db", "shop_db"):
        assert {"source", "container", "copy", "plan", "migrate"} <= steps[alias], alias
    assert re.search(rf"shop_db\s+migrate: FAILED in {FAILING}", broken_release.result.stdout)


def test_a_connection_that_can_write_is_refused_before_anything_starts(staging: Staging, tmp_path: Path) -> None:
    refused = rehearse(staging, tmp_path, "v2", writer=True)
    assert refused.result.returncode == 2
    assert "refusing to copy from a connection that can write" in refused.result.stderr
    assert "shop_db (shop_owner: INSERT/UPDATE/DELETE/TRUNCATE on public.django_migrations" in refused.result.stderr
    assert "--allow-writable-source" in refused.result.stderr
    assert "container:" not in refused.result.stdout and refused.report == {}


def test_schema_only_dump_keeps_history_and_allowed_writable_source_is_not_written(
    staging: Staging, tmp_path: Path
) -> None:
    """The owner role (writable) with --allow-writable-source; pg_dump/pg_restore in containers; one alias."""
    args = ("--json", "--allow-writable-source", "--schema-only", "--pg-tools", "container", "--database", "blog_db")
    rehearsed = rehearse(staging, tmp_path, "v2", *args, writer=True)
    assert rehearsed.result.returncode == 0, rehearsed.result.stderr
    aliases = rehearsed.report["aliases"]
    assert list(aliases) == ["default", "blog_db"]  # default holds blog_db's history, so it is cloned too
    assert aliases["default"]["migrated"] is False and aliases["default"]["migrations"] == []
    assert aliases["blog_db"]["plan"] == []  # blog's history came along: nothing looks due
    assert aliases["blog_db"]["rows"]["public.blog_post"] == {"source": 60, "before": 0, "after": 0}
    assert "WRITABLE" in aliases["blog_db"]["access"] and "in containers" in aliases["blog_db"]["copy_method"]
    assert rehearsed.report["schema_only"] is True
    assert rehearsed.staging_after == rehearsed.staging_before


def test_sigterm_while_clone_servers_start_removes_every_container_and_network(
    staging: Staging, tmp_path: Path
) -> None:
    """As when CI cancels a job or Ansible gives up: the rehearsal stops and leaves nothing behind."""
    client = docker.from_env()
    label = {"label": "multidb.rehearsal"}
    containers_before = {container.id for container in client.containers.list(all=True, filters=label)}
    networks_before = {network.id for network in client.networks.list(filters=label)}
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "DJANGO_SETTINGS"))}
    environ.update(APP_CONFIG=str(staging.reader.config), PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1", **release("v2"))
    process = subprocess.Popen(
        [sys.executable, str(REPO / "app" / "manage.py"), "rehearse_migrations", "--output", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if " container: " in line:  # the first clone server answers; the others may still be starting
            break
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert {container.id for container in client.containers.list(all=True, filters=label)} <= containers_before
    assert {network.id for network in client.networks.list(filters=label)} <= networks_before
