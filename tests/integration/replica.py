"""A real streaming replica of a test server, started as the Compose `replica` profile starts db-blog-replica.

The primary gets its replication role from the stack's own init script (compose/db-init/30-replication.sh);
the replica is the same PostgreSQL image running the stack's compose/replica-entrypoint.sh (pg_basebackup,
then a hot standby) on the primary's Docker network.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

from testcontainers.community.postgres import PostgresContainer

from tests.integration.postgres import LIB, REPO, SUPERUSER, Server, free_port, postgres_image

REPLICATION_INIT = REPO / "compose" / "db-init" / "30-replication.sh"
REPLICA_ENTRYPOINT = REPO / "compose" / "replica-entrypoint.sh"
ENTRYPOINT_IN_CONTAINER = "/usr/local/bin/replica-entrypoint.sh"  # where compose/compose.yaml mounts it


@contextmanager
def running_replica(primary: Server) -> Iterator[Server]:
    """A hot standby of `primary` on a loopback port of its own; removed on exit."""
    role, password = f"{primary.service}_replicator", secrets.token_hex(12)
    enable_replication(primary, role, password)
    wrapped = primary.container.get_wrapped_container()
    wrapped.reload()
    network, endpoint = next(iter(wrapped.attrs["NetworkSettings"]["Networks"].items()))
    # The standby's superuser and roles are the primary's (replicated); Testcontainers waits with them.
    container = _Standby(
        postgres_image(), username=SUPERUSER, password=primary.password, dbname=primary.service, driver=None
    )
    container.with_kwargs(network=network, entrypoint=["bash", ENTRYPOINT_IN_CONTAINER])
    container.with_command("postgres")
    container.with_volume_mapping(str(REPLICA_ENTRYPOINT), ENTRYPOINT_IN_CONTAINER, "ro")
    container.with_volume_mapping(*LIB, "ro")  # the entrypoint sources compose/lib/secret.sh
    container.with_env("PRIMARY_HOST", endpoint["IPAddress"])  # Testcontainers' random names do not resolve
    container.with_env("REPLICATION_USER", role)
    container.with_env("REPLICATION_PASSWORD", password)
    port = free_port()
    container.ports["5432"] = ("127.0.0.1", port)  # loopback only, and the same port after a restart
    replica = Server(primary.service, container, port, primary.password)
    try:
        container.start()  # returns once psql answers inside the container: the standby is consistent
        yield replica
    finally:
        container.stop()


class _Standby(PostgresContainer):
    """Waits like PostgresContainer (psql inside the container), but fails at once, with the log, if it exits."""

    def _connect(self, timeout: float = 120) -> None:
        wrapped = self.get_wrapped_container()
        probe = ["psql", "--username", self.username, "--dbname", self.dbname, "--host", "127.0.0.1", "-c", "SELECT 1"]
        deadline = time.monotonic() + timeout
        while True:
            wrapped.reload()
            if wrapped.status != "running":
                log = wrapped.logs(tail=20).decode(errors="replace")
                raise RuntimeError(f"the replica exited before serving (pg_basebackup or start failed):\n{log}")
            if wrapped.exec_run(probe, environment={"PGPASSWORD": self.password}).exit_code == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replica did not answer within {timeout:g}s")
            time.sleep(0.1)  # poll interval between real queries


def enable_replication(primary: Server, role: str, password: str) -> None:
    """The replication role and pg_hba line, made by the stack's init script run in the primary's container."""
    exit_code, output = primary.container.get_wrapped_container().exec_run(
        ["bash", "-c", REPLICATION_INIT.read_text()],
        user="postgres",
        environment={"POSTGRES_USER": SUPERUSER, "DB_REPLICATION": role, "DB_REPLICATION_PASSWORD": password},
    )
    if exit_code != 0:
        raise RuntimeError(f"{REPLICATION_INIT.relative_to(REPO)} failed on {primary.service}: {output.decode()}")


def wait_replayed(primary: Server, replica: Server, timeout: float = 30) -> None:
    """Until the replica has replayed everything the primary has written so far: a real query, polled."""
    lsn = primary.query("SELECT pg_current_wal_lsn()")[0][0]
    _wait(replica, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", lsn, timeout)


def wait_received(primary: Server, replica: Server, timeout: float = 30) -> None:
    """Until the replica has received (not necessarily replayed) everything the primary has written so far."""
    lsn = primary.query("SELECT pg_current_wal_lsn()")[0][0]
    _wait(replica, "SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn", lsn, timeout)


def _wait(replica: Server, statement: str, lsn: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not replica.query(statement, [lsn])[0][0]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"replica did not reach {lsn} within {timeout:g}s")
        time.sleep(0.05)  # poll interval between real queries
