"""Which connections the rehearsal accepts as read-only, checked on the staging fixture's real roles."""

from __future__ import annotations

import pytest
from psycopg import sql

from multidb.rehearsal.source import Source, write_access
from tests.integration.postgres import Target
from tests.rehearsal.staging import Staging


def access(target: Target) -> tuple[list[str], str | None]:
    with target.connect() as connection:
        return write_access(connection)


def test_reader_role_holds_no_write_privilege(staging: Staging) -> None:
    for target in staging.readers.values():
        writable, guard = access(target)
        assert writable == []
        assert guard == "default_transaction_read_only is on for this role or database"


def test_runtime_role_can_write_rows(staging: Staging) -> None:
    writable, guard = access(staging.roles["blog_db"].runtime)
    assert guard is None
    assert any(item.startswith("INSERT/UPDATE/DELETE/TRUNCATE on public.blog_comment") for item in writable)
    assert any(item.startswith("nextval/setval on sequence public.blog_comment_id_seq") for item in writable)


def test_superuser_is_writable(staging: Staging) -> None:
    server = staging.readers["shop_db"].server
    writable, _ = access(Target(server, staging.readers["shop_db"].dbname))
    assert "superuser (postgres)" in writable


def test_member_of_the_owner_role_is_writable_even_without_inherit(staging: Staging) -> None:
    """A role that can SET ROLE to the owner can write, whatever its own grants say."""
    owner = staging.roles["shop_db"].owner
    owner.server.query(
        sql.SQL("CREATE ROLE sneaky LOGIN NOINHERIT PASSWORD 'sneaky-pw' IN ROLE {}").format(sql.Identifier(owner.user))
    )
    owner.server.query(sql.SQL("GRANT CONNECT ON DATABASE {} TO sneaky").format(sql.Identifier(owner.dbname)))
    writable, guard = access(Target(owner.server, owner.dbname, "sneaky", "sneaky-pw"))
    assert guard is None
    assert any("public.shop_product" in item for item in writable)
    assert any(item == "CREATE on schema public" for item in writable)


@pytest.mark.parametrize(
    ("options", "kept"),
    [
        ({"connect_timeout": 5, "sslmode": "prefer"}, {"connect_timeout": "5", "sslmode": "prefer"}),
        ({"options": "-c statement_timeout=30000", "pool": True}, {}),  # a dump may take longer; pool is Django's
    ],
)
def test_source_keeps_libpq_options_only(options: dict[str, object], kept: dict[str, str]) -> None:
    settings = {"HOST": "db", "PORT": "", "NAME": "main", "USER": "reader", "PASSWORD": "pw", "OPTIONS": options}
    source = Source.from_settings("default", settings)
    assert source.conninfo == {"host": "db", "port": "5432", "dbname": "main", "user": "reader", **kept}
    assert "pw" not in repr(source) and "password" not in source.dsn
