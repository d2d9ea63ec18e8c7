"""Sources: the databases a rehearsal clones; read-only connections, write-access checks, snapshots of state."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import pq, sql

# libpq keywords a Django OPTIONS dict may carry; the rest (pool, isolation_level, ...) are Django's own.
_LIBPQ_KEYWORDS = frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())
# Every session the rehearsal opens refuses to write, whatever the role could do.
READ_ONLY_OPTIONS = "-c default_transaction_read_only=on"
_SYSTEM_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'"
# The tables Django and multidb record migration history in (see multidb.history).
HISTORY_TABLES = ("django_migrations", "multidb_migration_history")


@dataclass(frozen=True)
class Source:
    """Where one alias's database lives, as the rehearsal connects to it (the password stays out of reprs)."""

    alias: str
    conninfo: dict[str, str]  # libpq keywords without the password
    password: str = field(repr=False)

    @classmethod
    def from_settings(cls, alias: str, settings_dict: Mapping[str, Any]) -> Source:
        """From a Django DATABASES entry; the server options (statement_timeout...) are replaced by read-only."""
        options = {
            key: str(value)
            for key, value in settings_dict.get("OPTIONS", {}).items()
            if key in _LIBPQ_KEYWORDS and key not in ("options", "password", "passfile")
        }
        conninfo = {
            "host": str(settings_dict["HOST"]),
            "port": str(settings_dict["PORT"] or 5432),
            "dbname": str(settings_dict["NAME"]),
            "user": str(settings_dict["USER"]),
            **options,
        }
        return cls(alias, conninfo, str(settings_dict["PASSWORD"]))

    @property
    def dsn(self) -> str:
        """A libpq connection string without the password (safe on a command line)."""
        return psycopg.conninfo.make_conninfo(**self.conninfo)

    @property
    def label(self) -> str:
        return f"{self.conninfo['dbname']} on {self.conninfo['host']}:{self.conninfo['port']}"

    def connect(self, read_only: bool = True) -> psycopg.Connection[Any]:
        """An autocommit session, read-only unless asked (the write-access probe must see the role's defaults)."""
        extra = {"options": READ_ONLY_OPTIONS} if read_only else {}
        return psycopg.connect(
            self.dsn,
            password=self.password,
            autocommit=True,
            application_name="rehearse_migrations",
            **extra,  # type: ignore[arg-type]
        )


@dataclass
class Snapshot:
    """What the rehearsal promises not to change: rows per table and the recorded migrations."""

    rows: dict[str, int]  # "schema.table" -> rows
    migrations: dict[str, list[tuple[str, ...]]]  # history table -> its rows, sorted

    def differences(self, later: Snapshot) -> list[str]:
        """What changed between this snapshot and `later`, one phrase each; [] when nothing did."""
        changes = [
            f"{table}: {self.rows.get(table)} -> {later.rows.get(table)} rows"
            for table in sorted(set(self.rows) | set(later.rows))
            if self.rows.get(table) != later.rows.get(table)
        ]
        for table in sorted(set(self.migrations) | set(later.migrations)):
            before, after = set(self.migrations.get(table, [])), set(later.migrations.get(table, []))
            if before != after:
                changes.append(f"{table}: +{len(after - before)} / -{len(before - after)} recorded migrations")
        return changes


def write_access(connection: psycopg.Connection[Any]) -> tuple[list[str], str | None]:
    """(what the session's role could write, why the server refuses writes anyway or None).

    The role counts together with every role it is a member of (it may SET ROLE to them).
    """
    cursor = connection.cursor()
    standby, default_ro = cursor.execute(
        "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only') = 'on'"
    ).fetchone() or (False, False)
    guard = "the server is a standby" if standby else None
    if guard is None and default_ro:
        guard = "default_transaction_read_only is on for this role or database"
    found: list[str] = []
    for (name,) in cursor.execute(_ROLE_POWERS).fetchall():
        found.append(name)
    for kind, objects in cursor.execute(_WRITABLE_OBJECTS).fetchall():
        if objects:
            shown = ", ".join(objects[:3]) + (f" and {len(objects) - 3} more" if len(objects) > 3 else "")
            found.append(f"{kind} {shown}")
    return found, guard


def server_major(connection: psycopg.Connection[Any]) -> tuple[int, str]:
    """(major version, full version) of the server, e.g. (15, "15.18")."""
    row = connection.execute("SELECT current_setting('server_version_num')::int, current_setting('server_version')")
    number, version = row.fetchone() or (0, "")
    return int(number) // 10000, str(version).split()[0]


@contextmanager
def exported_snapshot(connection: psycopg.Connection[Any]) -> Iterator[str]:
    """A repeatable-read transaction whose snapshot pg_dump can share (`--snapshot`), held until exit."""
    connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        row = connection.execute("SELECT pg_export_snapshot()").fetchone()
        yield str(row[0]) if row else ""
    finally:
        connection.execute("ROLLBACK")


def take_snapshot(connection: psycopg.Connection[Any]) -> Snapshot:
    """Exact row counts of every table outside the system schemas, and the migration history tables."""
    tables = connection.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "  # noqa: S608
        f"WHERE c.relkind = 'r' AND {_SYSTEM_SCHEMAS} ORDER BY 1, 2"
    ).fetchall()
    rows: dict[str, int] = {}
    migrations: dict[str, list[tuple[str, ...]]] = {}
    for schema, table in tables:
        name = sql.Identifier(schema, table)
        count = connection.execute(sql.SQL("SELECT count(*) FROM ONLY {}").format(name)).fetchone()
        rows[f"{schema}.{table}"] = int(count[0]) if count else 0
        if schema == "public" and table in HISTORY_TABLES:
            columns = "database, app, name" if table == "multidb_migration_history" else "app, name"
            recorded = connection.execute(sql.SQL(f"SELECT {columns} FROM {{}}").format(name)).fetchall()  # noqa: S608
            migrations[table] = sorted(tuple(str(value) for value in row) for row in recorded)
    return Snapshot(rows, migrations)


# Role attributes that can write or grant writing: superuser (own or via membership) and CREATEROLE.
_ROLE_POWERS = """
SELECT CASE WHEN rolsuper THEN format('superuser (%I)', rolname) ELSE format('CREATEROLE (%I)', rolname) END
FROM pg_roles WHERE pg_has_role(current_user, oid, 'MEMBER') AND (rolsuper OR rolcreaterole)
"""

# Objects outside the system schemas that the role (or a role it belongs to) may write or create in.
_WRITABLE_OBJECTS = f"""
WITH me AS (SELECT oid FROM pg_roles WHERE pg_has_role(current_user, oid, 'MEMBER')),
tables AS (
  SELECT DISTINCT format('%I.%I', n.nspname, c.relname) AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN me
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {_SYSTEM_SCHEMAS}
    AND (has_table_privilege(me.oid, c.oid, 'DELETE, TRUNCATE')
         OR has_any_column_privilege(me.oid, c.oid, 'INSERT, UPDATE'))
),
sequences AS (
  SELECT DISTINCT format('%I.%I', n.nspname, c.relname) AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN me
  WHERE c.relkind = 'S' AND {_SYSTEM_SCHEMAS} AND has_sequence_privilege(me.oid, c.oid, 'USAGE, UPDATE')
),
schemas AS (
  SELECT DISTINCT format('%I', n.nspname) AS name FROM pg_namespace n CROSS JOIN me
  WHERE {_SYSTEM_SCHEMAS} AND has_schema_privilege(me.oid, n.oid, 'CREATE')
),
db AS (
  SELECT DISTINCT format('%I', current_database()) AS name FROM me
  WHERE has_database_privilege(me.oid, current_database(), 'CREATE')
)
SELECT 'INSERT/UPDATE/DELETE/TRUNCATE on', ARRAY(SELECT name FROM tables ORDER BY 1)
UNION ALL SELECT 'nextval/setval on sequence', ARRAY(SELECT name FROM sequences ORDER BY 1)
UNION ALL SELECT 'CREATE on schema', ARRAY(SELECT name FROM schemas ORDER BY 1)
UNION ALL SELECT 'CREATE on database', ARRAY(SELECT name FROM db)
"""  # noqa: S608 - built from constants only
