"""The source's roles in the clone: recreated before the dump so owners and grants restore, the owner migrates."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from .clone_server import SUPERUSER


@dataclass(frozen=True)
class Login:
    """A role of the clone that the rehearsal logs in as (the password exists only in the clone)."""

    role: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Roles:
    """What recreate() made: every role, the owner that runs migrate_all, and the database's grants."""

    names: tuple[str, ...]
    owner: Login | None  # None: the superuser owns the objects


def recreate(source: psycopg.Connection[Any], clone: psycopg.Connection[Any], dbname: str) -> Roles:
    """Create in the clone server every role that owns or is granted something in the source's database, with the
    source's attributes (superuser, createrole, createdb, inherit, bypassrls) and memberships among them, the
    database's owner and grants as on the source; the owner role (the one owning the most relations) gets a
    password for migrate_all. Passwords of the source are never read (pg_roles shows none)."""
    found = source.execute(_ROLES).fetchall()
    names = tuple(str(row[0]) for row in found)
    for name, superuser, createrole, createdb, inherit, bypassrls in found:
        if name == SUPERUSER:  # the clone's own superuser already exists
            continue
        attributes = [
            "SUPERUSER" if superuser else "NOSUPERUSER",
            "CREATEROLE" if createrole else "NOCREATEROLE",
            "CREATEDB" if createdb else "NOCREATEDB",
            "INHERIT" if inherit else "NOINHERIT",
            "BYPASSRLS" if bypassrls else "NOBYPASSRLS",
        ]
        clone.execute(sql.SQL("CREATE ROLE {} LOGIN " + " ".join(attributes)).format(sql.Identifier(name)))
    for role, member in source.execute(_MEMBERSHIPS).fetchall():
        if role in names and member in names and member != SUPERUSER:
            clone.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(member)))
    datdba, grants = _database(source)
    if datdba in names:
        clone.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(dbname), sql.Identifier(datdba)))
    if grants is not None:  # NULL datacl: the defaults, as the clone has them
        clone.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(dbname)))
        for grantee, privilege in grants:
            target = sql.SQL("PUBLIC") if grantee is None else sql.Identifier(grantee)
            statement = sql.SQL("GRANT " + privilege + " ON DATABASE {} TO {}")  # privilege: from aclexplode
            clone.execute(statement.format(sql.Identifier(dbname), target))
    owner_row = source.execute(_OWNER).fetchone()
    owner = str(owner_row[0]) if owner_row and owner_row[0] else datdba
    # A source migrated as its superuser: the clone's own superuser stands in (its password is the clone's).
    return Roles(names, None if owner == SUPERUSER else set_password(clone, owner))


def set_password(clone: psycopg.Connection[Any], role: str) -> Login:
    """A fresh random password for `role` in the clone, so the rehearsal can log in as it."""
    password = secrets.token_hex(16)
    clone.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
    return Login(role, password)


def runtime_role(clone: psycopg.Connection[Any], owner: str) -> str | None:
    """The role the app serves with: not the owner nor a superuser, allowed INSERT on the most tables."""
    row = clone.execute(_RUNTIME, [owner]).fetchone()
    return str(row[0]) if row else None


def _database(source: psycopg.Connection[Any]) -> tuple[str, list[tuple[str | None, str]] | None]:
    row = source.execute(
        "SELECT pg_get_userbyid(datdba), datacl IS NULL FROM pg_database WHERE datname = current_database()"
    ).fetchone()
    if row is None or row[1]:
        return (str(row[0]) if row else SUPERUSER), None
    grants = source.execute(
        "SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END, a.privilege_type "
        "FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = current_database()"
    ).fetchall()
    return str(row[0]), [(None if g is None else str(g), str(p)) for g, p in grants]


_SYSTEM = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp)'"

# Every role owning, granted or granting something in this database (relations, columns, schemas, functions, types,
# the database, default privileges) or named by a row security policy; PUBLIC (0) and the built-in pg_* roles
# left out. pg_dump's output names no other role.
_ROLES = f"""
WITH acl(owner, acl) AS (
  SELECT c.relowner, c.relacl FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_SYSTEM}
  UNION ALL SELECT n.nspowner, n.nspacl FROM pg_namespace n WHERE {_SYSTEM}
  UNION ALL SELECT p.proowner, p.proacl FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {_SYSTEM}
  UNION ALL SELECT t.typowner, t.typacl FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {_SYSTEM}
  UNION ALL SELECT c.relowner, a.attacl FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_SYSTEM} AND a.attacl IS NOT NULL
  UNION ALL SELECT datdba, datacl FROM pg_database WHERE datname = current_database()
  UNION ALL SELECT defaclrole, defaclacl FROM pg_default_acl
),
ids(id) AS (
  SELECT owner FROM acl
  UNION SELECT (aclexplode(acl)).grantee FROM acl WHERE acl IS NOT NULL
  UNION SELECT (aclexplode(acl)).grantor FROM acl WHERE acl IS NOT NULL
  UNION SELECT unnest(polroles) FROM pg_policy
)
SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolinherit, r.rolbypassrls
FROM pg_roles r JOIN ids ON r.oid = ids.id WHERE r.rolname !~ '^pg_' ORDER BY r.rolname
"""  # noqa: S608 - constants only

_MEMBERSHIPS = "SELECT pg_get_userbyid(roleid), pg_get_userbyid(member) FROM pg_auth_members"

# The role owning the most relations outside the system schemas: the one migrate_all runs as on the source.
_OWNER = f"""
SELECT pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_SYSTEM} GROUP BY c.relowner ORDER BY count(*) DESC, 1 LIMIT 1
"""  # noqa: S608 - constants only

_RUNTIME = f"""
SELECT r.rolname FROM pg_roles r CROSS JOIN pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND {_SYSTEM} AND r.rolname <> %s AND NOT r.rolsuper AND r.rolname !~ '^pg_'
  AND has_table_privilege(r.oid, c.oid, 'INSERT')
GROUP BY r.rolname ORDER BY count(*) DESC, 1 LIMIT 1
"""  # noqa: S608 - constants only
