"""What a rehearsal finds beyond success: the owner's privileges, static checks, locks, canary traffic, figures.

Release "risky" has one ledger migration per class (0002 safe, 0003 integer -> bigint rewrite, 0004 plain
CREATE INDEX, 0005 drop of a column the previous release reads); "extension" adds a shop migration creating an
untrusted extension. ledger_entry gets BIG_ROWS rows for this module (200k, not the issue's 1M: the bench uses
1M; here the locks only have to last longer than the sampling interval), removed again afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.rehearsal.staging import REPO, Staging, release
from tests.rehearsal.test_rehearse_migrations import TIMEOUT, Rehearsed, rehearse
from tests.unit.cli import manage

BIG_ROWS = 200_000
SAFE, REWRITE, INDEX, DROP = (
    "ledger.0002_entry_note",
    "ledger.0003_amount_bigint",
    "ledger.0004_entry_account_idx",
    "ledger.0005_remove_entry_memo",
)
EXTENSION = "shop.0002_pageinspect"
UNIQUE, DROP_TABLE = "ledger.0007_user_username_email_unique", "ledger.0008_drop_admin_log"
# Small limits, so 200k rows trip them on any machine; the defaults are 1 s and 10,000 rows. A lock is seen held
# from the first to the last sample (25 ms apart) that show it.
LIMITS = ("--database", "default", "--lock-threshold", "0.05", "--lock-min-rows", "1000", "--canary-wait", "0.1")


@pytest.fixture(scope="module")
def big_ledger(staging: Staging) -> Iterator[Staging]:
    """ledger_entry with BIG_ROWS more rows, written by the runtime role; deleted at the end of the module."""
    with staging.roles["default"].runtime.connect() as connection:
        row: Any = connection.execute("SELECT coalesce(max(id), 0) FROM ledger_entry").fetchone()
        connection.execute(
            "INSERT INTO ledger_entry (account, amount, memo) "
            "SELECT 'acct-' || (i %% 97), i, 'memo ' || i FROM generate_series(1, %s) i",
            [BIG_ROWS],
        )
    yield staging
    with staging.roles["default"].runtime.connect() as connection:
        connection.execute("DELETE FROM ledger_entry WHERE id > %s", [row[0]])


@pytest.fixture(scope="module")
def risky(big_ledger: Staging, tmp_path_factory: pytest.TempPathFactory) -> Rehearsed:
    """Rehearsed with this checkout as the previous release's directory, running release v1 (settings.py)."""
    previous = ("--previous-release", str(REPO))
    output = tmp_path_factory.mktemp("risky")
    args = ("--fail-on", "dangerous", *previous, *LIMITS)
    return rehearse(big_ledger, output, "risky", *args, env={"REHEARSAL_PREVIOUS_RELEASE": "v1"})


@pytest.fixture(scope="module")
def extension(staging: Staging, tmp_path_factory: pytest.TempPathFactory) -> Rehearsed:
    return rehearse(staging, tmp_path_factory.mktemp("extension"), "extension", "--database", "shop_db", "--json")


def by_migration(rehearsed: Rehearsed, alias: str = "default") -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in rehearsed.report["aliases"][alias]["findings"]:
        found.setdefault(finding["migration"], set()).add(finding["rule"])
    return found


def test_each_risky_migration_has_its_finding_and_the_safe_one_none(risky: Rehearsed) -> None:
    assert risky.report["ok"] is True  # every migration succeeds: the findings are what would hurt production
    found = by_migration(risky)
    assert SAFE not in found
    assert {"column-type-rewrite", "long-blocking-lock"} <= found[REWRITE]
    assert {"create-index-not-concurrently", "long-blocking-lock"} <= found[INDEX]
    assert found[DROP] == {"drop-column"}


def test_each_finding_names_migration_operation_and_safe_alternative(risky: Rehearsed) -> None:
    findings = {f["rule"]: f for f in risky.report["aliases"]["default"]["findings"]}
    index = findings["create-index-not-concurrently"]
    assert index["operation"] == "Create index ledger_entry_account_idx on field(s) account of model entry"
    assert "AddIndexConcurrently" in index["fix"] and f"{BIG_ROWS + 500:,} rows" in index["detail"]
    drop = findings["drop-column"]
    assert drop["severity"] == "incompatible" and "SeparateDatabaseAndState" in drop["fix"]
    assert "ledger_entry.memo" in drop["detail"]


def test_the_previous_release_breaks_on_the_dropped_column(risky: Rehearsed) -> None:
    broken = [f for f in risky.report["aliases"]["default"]["findings"] if f["kind"] == "previous-release"]
    assert [(f["operation"], f["severity"]) for f in broken] == [("read ledger.Entry", "incompatible")]
    assert "column ledger_entry.memo does not exist" in broken[0]["detail"]
    assert "previous release: 1 model access(es) broken" in risky.result.stdout


def test_locks_are_observed_per_migration_with_relation_size(risky: Rehearsed) -> None:
    observed = risky.report["aliases"]["default"]["observed"]
    assert list(observed) == [SAFE, REWRITE, INDEX, DROP]
    modes = {m: {(lock["relation"], lock["mode"]) for lock in seen["locks"]} for m, seen in observed.items()}
    assert ("public.ledger_entry", "AccessExclusiveLock") in modes[REWRITE]
    assert ("public.ledger_entry", "ShareLock") in modes[INDEX]
    rewrite = next(lock for lock in observed[REWRITE]["locks"] if lock["mode"] == "AccessExclusiveLock")
    assert rewrite["rows"] > BIG_ROWS * 0.9 and rewrite["size_bytes"] > 1_000_000 and rewrite["held_seconds"] > 0
    locks = [f for f in risky.report["aliases"]["default"]["findings"] if f["rule"] == "long-blocking-lock"]
    assert {f["migration"] for f in locks} <= {REWRITE, INDEX, DROP}  # never the safe one


def test_canary_traffic_waits_behind_the_rewrite(risky: Rehearsed) -> None:
    entry = risky.report["aliases"]["default"]
    assert entry["canary_role"] == "main_runtime" and entry["canary_error"] is None
    canary = entry["observed"][REWRITE]["canary"]
    assert canary["queries"] >= 1 and canary["longest_wait"] > 0.1 and canary["timeouts"] == 0


def test_figures_wal_and_size_per_alias_and_migration(risky: Rehearsed) -> None:
    entry = risky.report["aliases"]["default"]
    assert entry["figures"]["wal_bytes"] > 1_000_000  # the rewrite of 100k rows
    assert entry["figures"]["size_before"] > 0 and entry["figures"]["size_after"] > 0
    assert entry["observed"][REWRITE]["wal_bytes"] > entry["observed"][SAFE]["wal_bytes"]
    assert any("ALTER COLUMN" in s["query"] for s in entry["observed"][REWRITE]["statements"])


def test_fail_on_dangerous_exits_1_and_the_report_leads_with_the_summary(risky: Rehearsed) -> None:
    assert risky.result.returncode == 1, risky.result.stderr
    assert "finding(s) at --fail-on dangerous" in risky.result.stderr and "Traceback" not in risky.result.stderr
    markdown = (risky.output / "report.md").read_text()
    assert markdown.splitlines()[2].startswith("| alias | result | migrations | dangerous | incompatible |")
    assert "AddIndexConcurrently" in markdown
    assert risky.staging_after == risky.staging_before


def test_fail_on_none_exits_0_with_the_same_findings(big_ledger: Staging, tmp_path: Path) -> None:
    rehearsed = rehearse(big_ledger, tmp_path, "risky", "--fail-on", "none", "--no-canary", "--json", *LIMITS)
    assert rehearsed.result.returncode == 0, rehearsed.result.stderr
    assert by_migration(rehearsed)[DROP] == {"drop-column"}
    assert rehearsed.staging_after == rehearsed.staging_before


def test_migrations_run_as_the_owner_role_so_an_untrusted_extension_fails(extension: Rehearsed) -> None:
    assert extension.result.returncode == 1
    entry = extension.report["aliases"]["shop_db"]
    assert entry["owner"] == "shop_owner"
    assert entry["failed_migration"] == EXTENSION and "permission denied" in entry["error"]
    assert [f["rule"] for f in entry["findings"]] == ["owner-may-not"]
    assert extension.staging_after == extension.staging_before


def test_the_clone_keeps_the_sources_owners_and_grants(extension: Rehearsed) -> None:
    """The restore kept owners and grants: the runtime role could read and write (the canary ran as it)."""
    entry = extension.report["aliases"]["shop_db"]
    assert entry["canary_role"] == "shop_runtime"
    assert "migrated as shop_owner" in extension.output.joinpath("report.md").read_text()


def test_static_checks_read_djangos_own_sql(staging: Staging, tmp_path: Path) -> None:
    """Release "catalogue": the rules risky leaves out, on the SQL sqlmigrate writes; its last migration fails."""
    args = ("--database", "default", "--no-canary", "--no-lock-sampling", "--json")
    rehearsed = rehearse(staging, tmp_path, "catalogue", *args)
    assert rehearsed.result.returncode == 1
    entry = rehearsed.report["aliases"]["default"]
    assert entry["failed_migration"] == "ledger.0009_user_code"
    applied = [m["migration"] for m in entry["migrations"]]
    assert applied[-2:] == [UNIQUE, DROP_TABLE]  # both succeed: the findings are what would hurt production
    assert by_migration(rehearsed) == {
        "ledger.0002_entry_owner": {"foreign-key-without-not-valid", "create-index-not-concurrently"},
        "ledger.0004_note_not_null": {"set-not-null"},
        "ledger.0005_rename_account": {"rename-column"},
        "ledger.0006_rename_table": {"rename-table"},
        UNIQUE: {"unique-constraint-builds-index"},
        DROP_TABLE: {"drop-table"},
        "ledger.0009_user_code": {"add-not-null-without-default"},
    }
    findings = {f["rule"]: f for f in entry["findings"]}
    unique, drop = findings["unique-constraint-builds-index"], findings["drop-table"]
    assert unique["severity"] == "dangerous" and "existing table auth_user (20 rows)" in unique["detail"]
    assert unique["fix"] == "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE USING INDEX"
    assert drop["severity"] == "incompatible" and drop["detail"].startswith("DROP TABLE django_admin_log:")
    assert drop["fix"] == "drop the model's code in one release, the table in the next"
    assert rehearsed.staging_after == rehearsed.staging_before


def test_a_source_the_superuser_owns_is_migrated_as_the_copys_superuser(staging: Staging, tmp_path: Path) -> None:
    """Where migrations ran as the superuser, the copy's superuser stands in (what it may do, the source's may)."""
    server = staging.roles["shop_db"].owner.server
    server.create_database("superowned_shop")
    config = yaml.safe_load(staging.owner.config.read_text())
    config["databases"]["shop_db"].update(name="superowned_shop", user="postgres", password=server.password)
    path = tmp_path / "superowned.yaml"
    path.write_text(yaml.safe_dump(config))
    migrated = manage("migrate_all", "--database", "shop_db", config=path, env=release("v1"), timeout=TIMEOUT)
    assert migrated.returncode == 0, migrated.stderr
    args = ("--database", "shop_db", "--allow-writable-source", "--json", "--output", str(tmp_path / "report"))
    result = manage("rehearse_migrations", *args, config=path, env=release("extension"), timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)["aliases"]["shop_db"]
    assert entry["owner"] == "postgres" and entry["migrations"][0]["migration"] == EXTENSION
    assert entry["canary_role"] is None  # no other role may write there
