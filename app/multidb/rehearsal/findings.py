"""Findings from what a rehearsal observed (locks, canary, privileges), and the verdict --fail-on draws from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from .checks import DANGEROUS, INCOMPATIBLE, Table, Tables

# Lock modes that block the table's writes (SHARE and up); ACCESS EXCLUSIVE blocks its reads too.
BLOCKING = {
    "AccessExclusiveLock": "ACCESS EXCLUSIVE (blocks reads and writes)",
    "ExclusiveLock": "EXCLUSIVE (blocks writes)",
    "ShareRowExclusiveLock": "SHARE ROW EXCLUSIVE (blocks writes)",
    "ShareLock": "SHARE (blocks writes)",
}
_LOCK_FIX = {
    "AccessExclusiveLock": "expand/contract without rewriting (new column, batched backfill), or a quiet window",
    "ShareLock": "CREATE INDEX CONCURRENTLY (AddIndexConcurrently, atomic = False)",
}
# What a failing migration's error says when the role lacks a privilege (SQLSTATE 42501 and its kin).
_PRIVILEGE = ("permission denied", "must be owner", "must be superuser", "must have", "only superuser")
LEVELS = ("dangerous", "incompatible", "none")  # --fail-on


@dataclass(frozen=True)
class Thresholds:
    """A blocking lock is flagged when held at least `seconds` on a table of at least `rows` rows."""

    seconds: float = 1.0
    rows: int = 10_000
    canary_wait: float = 1.0  # a canary query that waited this long is flagged too


def tables_before(connection: psycopg.Connection[Any], rows: Mapping[str, int]) -> Tables:
    """The public tables of a clone before migrate_all: each column's type, and `rows` (counted after the dump)."""
    found: dict[str, dict[str, str]] = {}
    for table, column, kind in connection.execute(_COLUMNS).fetchall():
        found.setdefault(str(table), {})[str(column)] = str(kind)
    return {table: Table(rows.get(table, 0), columns) for table, columns in found.items()}


def lock_findings(migration: str, locks: Iterable[dict[str, Any]], limits: Thresholds) -> list[dict[str, Any]]:
    """A finding per blocking lock held on a big table longer than allowed."""
    findings = []
    for lock in locks:
        if not (lock["granted"] and lock["table"] and lock["mode"] in BLOCKING):
            continue
        if lock["held_seconds"] < limits.seconds or (lock["rows"] or 0) < limits.rows:
            continue
        findings.append(
            {
                "kind": "lock",
                "rule": "long-blocking-lock",
                "severity": DANGEROUS,
                "migration": migration,
                "operation": f"{lock['mode']} on {lock['relation']}",
                "detail": f"{BLOCKING[lock['mode']]} on {lock['relation']} ({lock['rows']:,} rows, "
                f"{lock['size_bytes'] or 0:,} bytes) held {lock['held_seconds']:.2f}s "
                f"(limit {limits.seconds:g}s on tables of {limits.rows:,}+ rows)",
                "fix": _LOCK_FIX.get(lock["mode"], "split the change so no step holds the lock on a big table"),
            }
        )
    return findings


def canary_findings(migration: str, canary: dict[str, Any], limits: Thresholds) -> list[dict[str, Any]]:
    """A finding when the canary traffic timed out, or waited longer than allowed, during a migration."""
    if not canary or (canary["timeouts"] == 0 and canary["longest_wait"] < limits.canary_wait):
        return []
    return [
        {
            "kind": "canary",
            "rule": "traffic-blocked",
            "severity": DANGEROUS,
            "migration": migration,
            "operation": f"canary on {canary['longest_table'] or '?'}",
            "detail": f"canary queries waited up to {canary['longest_wait']:.2f}s, {canary['timeouts']} timed out "
            f"(of {canary['queries']})",
            "fix": "the lock behind it: see this migration's locks",
        }
    ]


def privilege_finding(migration: str | None, error: str | None, role: str) -> list[dict[str, Any]]:
    """A failing migration whose error is a missing privilege of the owner role."""
    if not error or not any(words in error.lower() for words in _PRIVILEGE):
        return []
    return [
        {
            "kind": "privilege",
            "rule": "owner-may-not",
            "severity": INCOMPATIBLE,
            "migration": migration,
            "operation": "run as " + role,
            "detail": f"the owner role {role} may not run it: {error}",
            "fix": "have an administrator do that step before the deploy (e.g. CREATE EXTENSION as superuser), "
            "or grant the owner what it needs",
        }
    ]


def failing(findings: Iterable[dict[str, Any]], fail_on: str) -> list[dict[str, Any]]:
    """The findings that fail the run under --fail-on: `dangerous` counts both levels, `incompatible` only
    backward-incompatible ones, `none` none."""
    counted = {"dangerous": (DANGEROUS, INCOMPATIBLE), "incompatible": (INCOMPATIBLE,), "none": ()}[fail_on]
    return [finding for finding in findings if finding["severity"] in counted]


_COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY 1, a.attnum
"""
