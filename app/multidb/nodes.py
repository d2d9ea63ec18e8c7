"""The nodes of a high-availability alias (libpq multi-host): which one leads, and how far behind each standby is."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend

# Standby states as /readyz reports them. "not in recovery" is a second node accepting writes: a split brain.
STANDBY_OK, STANDBY_DOWN, NOT_A_STANDBY = "ok", "down", "not in recovery"


@dataclass
class Standby:
    host: str
    status: str
    lag_bytes: int | None = None  # the leader's WAL position minus what this node has replayed


def node_hosts(settings_dict: dict[str, Any]) -> list[str]:
    """The hosts of a PostgreSQL alias that lists several (`host: db-blog-1,db-blog-2`); [] for any other alias."""
    if not settings_dict["ENGINE"].endswith("postgresql"):
        return []
    hosts = [host.strip() for host in str(settings_dict.get("HOST") or "").split(",")]
    return hosts if len(hosts) > 1 else []


def leader_and_standbys(
    connection: BaseDatabaseWrapper, hosts: list[str], deadline: float
) -> tuple[str | None, list[dict[str, Any]]]:
    """The node `connection` (read-write, so the leader) reached, and every other node as a standby.

    Each other node gets a private connection of its own with the alias's credentials: the functions read
    here (pg_current_wal_lsn, pg_last_wal_replay_lsn) need no privilege, where the leader's
    pg_stat_replication hides its positions from roles without pg_read_all_stats. The standbys are asked
    at once and only until `deadline` (time.monotonic()): an unreachable standby must not make its
    alias's probe time out, since the alias serves from its leader.
    """
    leader = connection.connection.info.host  # libpq's answer: the host of the list it kept
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), pg_current_wal_lsn()::text")
        in_recovery, position = cursor.fetchone()
    if in_recovery:  # target_session_attrs is not read-write: no node of this list was asked to lead
        return None, []
    others = [host for host in hosts if host != leader]
    answers: dict[str, Standby] = {}
    threads = [
        threading.Thread(
            target=_ask_into,
            args=(answers, connection.settings_dict, host, lsn_bytes(position), deadline),
            daemon=True,  # a node that never answers must not keep the probe (or the process) waiting
            name=f"health-node-{host}",
        )
        for host in others
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return leader, [asdict(answers.get(host) or Standby(host, STANDBY_DOWN)) for host in others]


def _ask_into(
    answers: dict[str, Standby], settings_dict: dict[str, Any], host: str, leader_position: int, deadline: float
) -> None:
    answers[host] = _standby(settings_dict, host, leader_position, deadline)


def _standby(settings_dict: dict[str, Any], host: str, leader_position: int, deadline: float) -> Standby:
    node = _node_connection(settings_dict, host, deadline - time.monotonic())
    try:
        with node.cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")
            in_recovery, replayed = cursor.fetchone()
    except Exception:  # noqa: BLE001 - a node that does not answer is down, whatever the reason
        return Standby(host, STANDBY_DOWN)
    finally:
        node.close()
    if not in_recovery:
        return Standby(host, NOT_A_STANDBY)
    lag = None if replayed is None else max(0, leader_position - lsn_bytes(replayed))
    return Standby(host, STANDBY_OK, lag)


def _node_connection(settings_dict: dict[str, Any], host: str, timeout: float) -> BaseDatabaseWrapper:
    """A connection to one node of the alias, whatever its role, bounded by `timeout`."""
    node = dict(settings_dict, HOST=host)
    options = dict(node.get("OPTIONS", {}))
    options.pop("target_session_attrs", None)
    options.pop("pool", None)
    options["connect_timeout"] = max(1, math.ceil(timeout))
    node["OPTIONS"] = options
    wrapper: BaseDatabaseWrapper = load_backend(node["ENGINE"]).DatabaseWrapper(node, f"node {host}")
    return wrapper


def lsn_bytes(lsn: str) -> int:
    """A PostgreSQL WAL position ('16/B374D848') as a byte offset."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)
