"""Static checks of each due migration's SQL (sqlmigrate) and operations, knowing the clone's tables before it ran."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

DANGEROUS, INCOMPATIBLE = "dangerous", "incompatible"  # the two levels --fail-on selects


@dataclass(frozen=True)
class Table:
    """A table of the clone before migrate_all ran: its rows and its columns' types."""

    rows: int
    columns: Mapping[str, str]


Tables = Mapping[str, Table]  # unqualified table name (public schema) -> Table


@dataclass(frozen=True)
class Rule:
    """A pattern on one SQL statement; `applies` decides with the tables as they were (None: always)."""

    name: str
    severity: str
    pattern: re.Pattern[str]
    what: str  # the problem, formatted with the pattern's groups and the table's rows
    fix: str
    applies: Callable[[re.Match[str], Tables], bool] | None = None  # None: always


def _existing(match: re.Match[str], tables: Tables) -> bool:
    return match["table"] in tables


def _populated(match: re.Match[str], tables: Tables) -> bool:
    return _existing(match, tables) and tables[match["table"]].rows > 0


def _rewrites(match: re.Match[str], tables: Tables) -> bool:
    """A type change rewrites the table unless it only widens varchar (or turns it into text)."""
    if not _existing(match, tables):
        return False
    old = tables[match["table"]].columns.get(match["column"], "")
    new = match["type"].strip().lower()
    widening = re.fullmatch(r"character varying\((\d+)\)", old)
    wider = re.fullmatch(r"varchar\((\d+)\)", new)
    return not (old == new or (widening and (new == "text" or (wider and int(wider[1]) >= int(widening[1])))))


_T = r'ALTER TABLE (?:ONLY )?"?(?P<table>\w+)"?'
_EXPAND_CONTRACT = "expand/contract: add the new column, write both, move the reads, drop the old one a release later"
RULES: tuple[Rule, ...] = (
    Rule(
        "create-index-not-concurrently",
        DANGEROUS,
        re.compile(r'^CREATE (?:UNIQUE )?INDEX (?!CONCURRENTLY)"?\w+"? ON "?(?P<table>\w+)"?', re.I),
        "CREATE INDEX without CONCURRENTLY on existing table {table} ({rows} rows): writes wait for the build",
        "AddIndexConcurrently (django.contrib.postgres.operations) in a migration with atomic = False",
        _existing,
    ),
    Rule(
        "unique-constraint-builds-index",
        DANGEROUS,
        re.compile(_T + r" ADD CONSTRAINT \S+ UNIQUE", re.I),
        "ADD CONSTRAINT UNIQUE on existing table {table} ({rows} rows) builds its index under a write lock",
        "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE USING INDEX",
        _existing,
    ),
    Rule(
        "foreign-key-without-not-valid",
        DANGEROUS,
        # ADD CONSTRAINT ... FOREIGN KEY, or ADD COLUMN ... REFERENCES (Django's AddField of a ForeignKey)
        re.compile(_T + r" ADD (?:CONSTRAINT \S+ FOREIGN KEY|COLUMN .* REFERENCES )(?!.*NOT VALID)", re.I | re.S),
        "FOREIGN KEY on existing table {table} ({rows} rows) validated at once, with both tables locked",
        "add the column without the constraint, ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT later",
        _existing,
    ),
    Rule(
        "set-not-null",
        DANGEROUS,
        re.compile(_T + r' ALTER COLUMN "?(?P<column>\w+)"? SET NOT NULL', re.I),
        "SET NOT NULL on {table}.{column} ({rows} rows) scans the table under ACCESS EXCLUSIVE",
        "ADD CONSTRAINT ... CHECK ({column} IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL",
        _populated,
    ),
    Rule(
        "add-not-null-without-default",
        DANGEROUS,
        re.compile(_T + r' ADD COLUMN "?(?P<column>\w+)"? (?:(?!DEFAULT).)*NOT NULL(?:(?!DEFAULT).)*$', re.I | re.S),
        "ADD COLUMN {column} NOT NULL without a default on populated table {table} ({rows} rows) fails",
        "add it nullable (or with a default), fill it in batches, then make it NOT NULL",
        _populated,
    ),
    Rule(
        "column-type-rewrite",
        DANGEROUS,
        re.compile(_T + r' ALTER COLUMN "?(?P<column>\w+)"? TYPE (?P<type>[^;]+?)(?: USING .*)?$', re.I | re.S),
        "ALTER COLUMN {column} TYPE {type} rewrites {table} ({rows} rows) under ACCESS EXCLUSIVE",
        _EXPAND_CONTRACT,
        _rewrites,
    ),
    Rule(
        "rename-column",
        INCOMPATIBLE,
        re.compile(_T + r' RENAME COLUMN "?(?P<column>\w+)"?', re.I),
        "RENAME COLUMN {table}.{column}: the previous release still uses the old name",
        _EXPAND_CONTRACT,
        _existing,
    ),
    Rule(
        "rename-table",
        INCOMPATIBLE,
        re.compile(_T + r" RENAME TO", re.I),
        "RENAME of table {table}: the previous release still uses the old name",
        "keep the table name (Meta.db_table) or copy and switch over two releases",
        _existing,
    ),
    Rule(
        "drop-column",
        INCOMPATIBLE,
        re.compile(_T + r' DROP COLUMN (?:IF EXISTS )?"?(?P<column>\w+)"?', re.I),
        "DROP COLUMN {table}.{column}: the previous release, still serving during the deploy, selects it",
        "release 1 stops using the field (SeparateDatabaseAndState removes it from the state only); "
        "release 2 drops the column",
        _existing,
    ),
    Rule(
        "drop-table",
        INCOMPATIBLE,
        re.compile(r'^DROP TABLE (?:IF EXISTS )?"?(?P<table>\w+)"?', re.I),
        "DROP TABLE {table}: the previous release still queries it",
        "drop the model's code in one release, the table in the next",
        _existing,
    ),
)

# Operation-level checks: what SQL cannot show (a RunPython's code).
UNBATCHED = (
    "data migration without batching: one transaction over every row it touches (row locks, WAL in one burst)",
    "iterate in batches (pk ranges, queryset.iterator(chunk_size=...)) with atomic = False, a transaction per batch",
)


def check(migrations: list[dict[str, Any]], tables: Tables) -> list[dict[str, Any]]:
    """The findings for one alias's due migrations (child.py's statements), in migration order."""
    findings = []
    for migration in migrations:
        for operation in migration["operations"]:
            where = {"kind": "static", "migration": migration["migration"], "operation": operation["describe"]}
            if operation["batched"] is False:
                findings.append({**where, "rule": "runpython-unbatched", "severity": DANGEROUS, "detail": UNBATCHED[0]})
                findings[-1]["fix"] = UNBATCHED[1]
            for statement in operation["sql"]:
                findings += [{**where, **found} for found in _match(statement, tables)]
    return findings


def _match(statement: str, tables: Tables) -> list[dict[str, Any]]:
    found = []
    for rule in RULES:
        match = rule.pattern.search(statement)
        if match is None or (rule.applies is not None and not rule.applies(match, tables)):
            continue
        groups = {key: value for key, value in match.groupdict().items() if value is not None}
        table = tables.get(groups.get("table", ""))
        values = {**groups, "rows": f"{table.rows:,}" if table else "new"}
        found.append(
            {
                "rule": rule.name,
                "severity": rule.severity,
                "detail": rule.what.format(**values),
                "fix": rule.fix.format(**values),
                "sql": statement[:300],
            }
        )
    return found
