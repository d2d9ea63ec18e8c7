"""The static checks' rules on SQL as Django writes it, and the verdict --fail-on draws (no Docker needed)."""

from __future__ import annotations

from typing import Any

import pytest

from multidb.rehearsal.checks import Table, check
from multidb.rehearsal.findings import Thresholds, failing, lock_findings

TABLES = {
    "shop_order": Table(500, {"id": "bigint", "note": "character varying(40)", "total": "numeric(10,2)"}),
    "empty": Table(0, {"id": "bigint", "flag": "boolean"}),
}


def rules(statement: str, *, batched: bool | None = None) -> list[str]:
    operation = {"type": "X", "describe": "op", "sql": [statement] if statement else [], "batched": batched}
    return [f["rule"] for f in check([{"migration": "shop.0009_x", "operations": [operation]}], TABLES)]


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ('CREATE INDEX "i" ON "shop_order" ("note")', ["create-index-not-concurrently"]),
        ('CREATE UNIQUE INDEX "i" ON "empty" ("flag")', ["create-index-not-concurrently"]),
        ('CREATE INDEX CONCURRENTLY "i" ON "shop_order" ("note")', []),
        ('CREATE INDEX "i" ON "new_table" ("x")', []),  # created by the same run: empty, nobody waits
        ('ALTER TABLE "shop_order" ADD CONSTRAINT "u" UNIQUE ("note")', ["unique-constraint-builds-index"]),
        (
            'ALTER TABLE "shop_order" ADD CONSTRAINT "fk" FOREIGN KEY ("c_id") REFERENCES "c" ("id") '
            "DEFERRABLE INITIALLY DEFERRED",
            ["foreign-key-without-not-valid"],
        ),
        ('ALTER TABLE "shop_order" ADD CONSTRAINT "fk" FOREIGN KEY ("c_id") REFERENCES "c" ("id") NOT VALID', []),
        (
            'ALTER TABLE "shop_order" ADD COLUMN "owner_id" integer NULL CONSTRAINT "fk" REFERENCES "auth_user"("id") '
            "DEFERRABLE INITIALLY DEFERRED",
            ["foreign-key-without-not-valid"],
        ),
        ('ALTER TABLE "shop_order" ALTER COLUMN "note" SET NOT NULL', ["set-not-null"]),
        ('ALTER TABLE "empty" ALTER COLUMN "flag" SET NOT NULL', []),  # no rows to scan
        ('ALTER TABLE "shop_order" ADD COLUMN "x" integer NOT NULL', ["add-not-null-without-default"]),
        ('ALTER TABLE "shop_order" ADD COLUMN "x" integer DEFAULT 0 NOT NULL', []),
        ('ALTER TABLE "shop_order" ADD COLUMN "x" text NULL', []),
        ('ALTER TABLE "shop_order" ALTER COLUMN "id" TYPE bigint USING "id"::bigint', []),  # same type
        ('ALTER TABLE "shop_order" ALTER COLUMN "total" TYPE numeric(12,2)', ["column-type-rewrite"]),
        ('ALTER TABLE "shop_order" ALTER COLUMN "note" TYPE varchar(80)', []),  # widening: no rewrite
        ('ALTER TABLE "shop_order" ALTER COLUMN "note" TYPE text', []),
        ('ALTER TABLE "shop_order" ALTER COLUMN "note" TYPE varchar(20)', ["column-type-rewrite"]),
        ('ALTER TABLE "shop_order" RENAME COLUMN "note" TO "memo"', ["rename-column"]),
        ('ALTER TABLE "shop_order" RENAME TO "orders"', ["rename-table"]),
        ('ALTER TABLE "shop_order" DROP COLUMN "note" CASCADE', ["drop-column"]),
        ('DROP TABLE "shop_order" CASCADE', ["drop-table"]),
        ('ALTER TABLE "shop_order" ADD COLUMN "note2" text NULL', []),
    ],
)
def test_rule_per_statement(statement: str, expected: list[str]) -> None:
    assert rules(statement) == expected


def test_runpython_without_batching_is_flagged_and_batched_is_not() -> None:
    assert rules("", batched=False) == ["runpython-unbatched"]
    assert rules("", batched=True) == []


def test_a_finding_names_migration_operation_and_fix() -> None:
    operation = {"type": "X", "describe": "Alter field note", "sql": ['ALTER TABLE "shop_order" DROP COLUMN "note"']}
    [finding] = check([{"migration": "shop.0009_x", "operations": [{**operation, "batched": None}]}], TABLES)
    assert finding["migration"] == "shop.0009_x" and finding["operation"] == "Alter field note"
    assert finding["severity"] == "incompatible" and "release 2 drops the column" in finding["fix"]


def lock(mode: str, held: float, rows: int) -> dict[str, Any]:
    return {"relation": "public.t", "mode": mode, "granted": True, "held_seconds": held, "rows": rows}


def test_only_blocking_locks_over_both_thresholds_are_flagged() -> None:
    limits = Thresholds(seconds=1.0, rows=10_000)
    locks = [
        {**lock("AccessExclusiveLock", 2.0, 50_000), "size_bytes": 1, "table": True},
        {**lock("ShareLock", 2.0, 5_000), "size_bytes": 1, "table": True},  # small table
        {**lock("AccessExclusiveLock", 0.5, 50_000), "size_bytes": 1, "table": True},  # short
        {**lock("RowExclusiveLock", 9.0, 50_000), "size_bytes": 1, "table": True},  # blocks nobody's writes
    ]
    assert [f["operation"] for f in lock_findings("m", locks, limits)] == ["AccessExclusiveLock on public.t"]


@pytest.mark.parametrize(
    ("fail_on", "count"),
    [("dangerous", 2), ("incompatible", 1), ("none", 0)],
)
def test_fail_on_levels(fail_on: str, count: int) -> None:
    findings = [{"severity": "dangerous"}, {"severity": "incompatible"}]
    assert len(failing(findings, fail_on)) == count
