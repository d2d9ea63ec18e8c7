"""A "staging" environment for rehearsals: three PostgreSQL servers laid out like the Compose stack (owner,
runtime and rehearsal reader roles), migrated with release v1 and seeded; fingerprints of its contents."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg import sql

from tests.integration.postgres import SERVICES, Server, ServiceRoles, Target, create_service_database, write_config
from tests.integration.stack import Stack

REPO = Path(__file__).resolve().parents[2]
READER_INIT = REPO / "compose" / "db-init" / "20-rehearsal-reader.sh"
SETTINGS = "tests.rehearsal.settings"
READER = "rehearsal_reader"


@dataclass
class Staging:
    """Staging's databases, as the roles that use them: owner (migrate_all), runtime (the app), reader."""

    roles: dict[str, ServiceRoles]
    readers: dict[str, Target]
    owner: Stack  # config with the owner roles
    reader: Stack  # config with the read-only rehearsal roles
    runtime: Stack

    def fingerprint(self) -> dict[str, dict[str, tuple[int, str]]]:
        """alias -> table -> (rows, md5 of every row in order): what "unchanged" means, read as the superuser."""
        return {alias: fingerprint(pair.owner) for alias, pair in self.roles.items()}


def build(servers: dict[str, Server], directory: Path, *, prefix: str = "staging") -> Staging:
    """Databases `<prefix>_<service>` with the stack's roles and the rehearsal reader, migrated with release v1."""
    roles = {
        alias: create_service_database(servers[service], f"{prefix}_{service}") for alias, service in SERVICES.items()
    }
    password = secrets.token_hex(12)  # one reader password on every server, as the Ansible vault holds it
    readers = {alias: add_reader(pair.owner, password) for alias, pair in roles.items()}
    owners = {alias: pair.owner for alias, pair in roles.items()}
    runtimes = {alias: pair.runtime for alias, pair in roles.items()}
    owner = Stack(write_config(directory / "owner.yaml", owners), owners)
    migrated = owner.manage("migrate_all", env=release("v1"))
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    runtime = Stack(write_config(directory / "runtime.yaml", runtimes), runtimes)
    reader = Stack(write_config(directory / "reader.yaml", readers), readers)
    return Staging(roles, readers, owner, reader, runtime)


def release(name: str) -> dict[str, str]:
    """The environment selecting a release of the app (see tests/rehearsal/settings.py)."""
    return {"DJANGO_SETTINGS_MODULE": SETTINGS, "REHEARSAL_RELEASE": name}


def add_reader(owner: Target, password: str | None = None) -> Target:
    """The rehearsal reader role on `owner`'s database, made by compose/db-init/20-rehearsal-reader.sh in the
    server's container as the Compose stack runs it."""
    password = password or secrets.token_hex(12)
    exit_code, output = owner.server.container.get_wrapped_container().exec_run(
        ["bash", "-c", READER_INIT.read_text()],
        user="postgres",
        environment={
            "POSTGRES_USER": "postgres",
            "POSTGRES_DB": owner.dbname,
            "DB_OWNER": owner.user,
            "REHEARSAL_READER_PASSWORD": password,
        },
    )
    if exit_code != 0:
        raise RuntimeError(f"{READER_INIT.relative_to(REPO)} failed: {output.decode()}")
    return Target(owner.server, owner.dbname, READER, password)


def seed(runtime: dict[str, Target], *, users: int = 20, entries: int = 500, posts: int = 60) -> None:
    """Rows in every app's tables, written by the runtime roles as the app would; some product names repeat."""
    with runtime["default"].connect() as connection:
        connection.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined) SELECT '!', false, 'user' || i, '', '', '', false, true, now() "
            "FROM generate_series(1, %s) i",
            [users],
        )
        connection.execute(
            "INSERT INTO ledger_entry (account, amount, memo) "
            "SELECT 'acct-' || (i %% 7), i, CASE WHEN i %% 3 = 0 THEN '' ELSE 'memo ' || i END "
            "FROM generate_series(1, %s) i",
            [entries],
        )
    with runtime["blog_db"].connect() as connection:
        connection.execute(
            "INSERT INTO blog_post (title, content, author_id, created_at) "
            "SELECT 'post ' || i, repeat('words ', i %% 50), 1 + i %% %s, now() FROM generate_series(1, %s) i",
            [users, posts],
        )
        connection.execute(
            "INSERT INTO blog_comment (post_id, author_id, content, created_at) "
            "SELECT p.id, 1 + p.id %% %s, 'comment', now() FROM blog_post p, generate_series(1, 2)",
            [users],
        )
    with runtime["shop_db"].connect() as connection:
        connection.execute(
            "INSERT INTO shop_product (name, price, stock) "
            "SELECT 'product ' || (i % 25), i * 1.5, i FROM generate_series(1, 40) i"
        )
        connection.execute(
            "INSERT INTO shop_order (order_number, customer_id, total, created_at) "
            "SELECT 'order-' || i, 1 + i %% %s, i * 10, now() FROM generate_series(1, 30) i",
            [users],
        )


def fingerprint(target: Target) -> dict[str, tuple[int, str]]:
    """table -> (rows, md5 of all rows in a fixed order), for every table of the public schema."""
    server = target.server
    with server.connect(target.dbname) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            ).fetchall()
        ]
        result: dict[str, tuple[int, str]] = {}
        for table in tables:
            query = sql.SQL("SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t")
            row: Any = connection.execute(query.format(sql.Identifier(table))).fetchone()
            result[table] = (int(row[0]), str(row[1]))
    return result
