"""Config rules of an alias that lists several PostgreSQL nodes (`host: db-blog-1,db-blog-2`; docs/ha.md)."""

from __future__ import annotations

from collections.abc import Callable

from .config import DatabaseConfig
from .errors import ConfigKeyError

# libpq's values (PostgreSQL 14+ client library): which of the listed hosts a connection keeps.
SESSION_ATTRS = ("any", "read-write", "read-only", "primary", "standby", "prefer-standby")
WRITABLE_ATTRS = ("read-write", "primary")


def check_nodes(key: str, db: DatabaseConfig, shown: Callable[[str, object], str]) -> None:
    """Refuse a node list libpq would misread, and a writing alias that could connect to a standby."""
    attrs = db.options.get("target_session_attrs")
    if attrs is not None and attrs not in SESSION_ATTRS:
        raise ConfigKeyError(
            f"{key}.options.target_session_attrs",
            f"{shown(f'{key}.options.target_session_attrs', attrs)} is not one of {', '.join(SESSION_ATTRS)}",
            "use read-write for an alias that writes, prefer-standby for a replica",
        )
    hosts = db.host.split(",")
    if len(hosts) < 2:
        return
    if any(not host.strip() for host in hosts):
        raise ConfigKeyError(
            f"{key}.host", "has an empty name in its list of nodes", "list the nodes as host: node-1,node-2"
        )
    if not db.is_replica and attrs not in WRITABLE_ATTRS:
        raise ConfigKeyError(
            f"{key}.options.target_session_attrs",
            "must be read-write for an alias that writes and lists several hosts (else it may connect to a standby)",
            "set options: {target_session_attrs: read-write}; libpq then keeps the node that accepts writes",
        )
