"""PostgreSQL servers for the integration tests and benches: one Testcontainers server per alias, psycopg access."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import yaml
from psycopg import sql

# This machine has no registry (Ryuk cannot be pulled) and a /.dockerenv that would make Testcontainers hand
# out the bridge gateway instead of localhost. Read by testcontainers at import, so set before importing it.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")

from testcontainers.community.postgres import PostgresContainer
from testcontainers.core.network import Network

from multidb.topology import load_topology

REPO = Path(__file__).resolve().parents[2]
# The topology under test: the Compose stack's (one server per alias, as `make up` starts them), or another
# config file named by MULTIDB_TEST_TOPOLOGY. Only its aliases, database names and routing keys are used.
TOPOLOGY = load_topology(Path(os.environ.get("MULTIDB_TEST_TOPOLOGY") or REPO / "config" / "compose.yaml"))
IMAGES_ENV = REPO / "build" / "images.env"  # written by scripts/ensure-images.sh
DB_INIT = REPO / "compose" / "db-init" / "10-least-privilege.sh"  # the stack's owner and runtime roles
# compose/lib (the init scripts' secret() helper), mounted where the stack mounts it.
LIB = (str(REPO / "compose" / "lib"), "/usr/local/lib/multidb")
OFFICIAL_IMAGE = "postgres:15"  # the stack's image; ensure-images.sh substitutes a local build when air-gapped
SUPERUSER = "postgres"
# alias -> the server (service) holding it, named by its database name as in the topology: main, blog, shop...
SERVICES = {alias: db.name for alias, db in TOPOLOGY.databases.items() if not db.is_replica}
# alias -> its routing keys in the topology (apps, operations, migrate_to), copied into every test config.
ROUTING = {
    alias: TOPOLOGY.databases[alias].model_dump(include={"apps", "operations", "migrate_to"}, exclude_defaults=True)
    for alias in SERVICES
}
SECRET_KEY = "integration-tests-" + "k" * 40


def postgres_image() -> str:
    """$POSTGRES_IMAGE, else the image scripts/ensure-images.sh chose (build/images.env), else postgres:15."""
    if os.environ.get("POSTGRES_IMAGE"):
        return os.environ["POSTGRES_IMAGE"]
    if IMAGES_ENV.exists():
        for line in IMAGES_ENV.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "POSTGRES_IMAGE" and value.strip():
                return value.strip()
    return OFFICIAL_IMAGE


@dataclass
class Server:
    """One PostgreSQL server (container) on a fixed loopback port, so a restart keeps its address."""

    service: str  # the database name of its alias in the topology: main | blog | shop
    container: PostgresContainer
    port: int
    password: str  # the superuser's
    host: str = "127.0.0.1"

    def connect(
        self, dbname: str | None = None, user: str = SUPERUSER, password: str | None = None, **kwargs: Any
    ) -> psycopg.Connection[Any]:
        """An autocommit psycopg connection; the superuser on the service's own database by default."""
        return psycopg.connect(
            host=self.host,
            port=self.port,
            dbname=dbname or self.service,
            user=user,
            password=self.password if password is None else password,
            autocommit=True,
            connect_timeout=kwargs.pop("connect_timeout", 5),
            **kwargs,
        )

    def query(self, statement: str | sql.Composable, params: Any = None, dbname: str | None = None) -> list[Any]:
        """Run one statement as the superuser; the rows, or [] for a statement without a result."""
        with self.connect(dbname) as connection, connection.cursor() as cursor:
            cursor.execute(statement, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str, owner: str = SUPERUSER) -> None:
        self.query(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner)))

    def stop(self) -> None:
        self.container.get_wrapped_container().stop(timeout=10)

    def start(self) -> None:
        self.container.get_wrapped_container().start()
        self.wait_ready()

    def pause(self) -> None:
        self.container.get_wrapped_container().pause()

    def unpause(self) -> None:
        self.container.get_wrapped_container().unpause()
        self.wait_ready()

    def ensure_running(self) -> None:
        """Undo stop() or pause(), whichever happened; then wait until it answers."""
        container = self.container.get_wrapped_container()
        container.reload()
        if container.status == "paused":
            container.unpause()
        elif container.status != "running":
            container.start()
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        """Until `SELECT 1` answers over TCP: readiness is a real query."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.query("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)  # poll interval between real attempts


@contextmanager
def running_servers(services: tuple[str, ...] = tuple(SERVICES.values())) -> Iterator[dict[str, Server]]:
    """Start one PostgreSQL container per service concurrently; remove them all on exit, even after a failure.

    They share a network of their own: nothing else on the machine (the default bridge included) matters.
    """
    image = postgres_image()
    with ExitStack() as cleanup:
        if threading.current_thread() is threading.main_thread():
            # Ryuk is off: a run ended by SIGTERM (timeout, CI cancel) must still unwind and remove containers.
            cleanup.callback(signal.signal, signal.SIGTERM, signal.signal(signal.SIGTERM, _interrupt))
        network = cleanup.enter_context(Network())  # removed after the containers
        servers = {service: _server(image, service, network) for service in services}
        for server in servers.values():
            # Registered before starting: a container created but never ready is removed too.
            cleanup.callback(server.container.stop)
        with ThreadPoolExecutor(max_workers=len(servers)) as pool:
            outcomes = list(pool.map(_start, servers.values()))
        errors = [error for error in outcomes if error is not None]
        if errors:
            raise RuntimeError(
                f"could not start PostgreSQL from image {image} (scripts/ensure-images.sh chooses or builds it; "
                f"set POSTGRES_IMAGE to override): {errors[0]}"
            ) from errors[0]
        yield servers


def _server(image: str, service: str, network: Network) -> Server:
    password = secrets.token_hex(12)
    port = free_port()
    container = PostgresContainer(image, username=SUPERUSER, password=password, dbname=service, driver=None)
    container.with_network(network)
    container.with_volume_mapping(*LIB, "ro")
    container.ports["5432"] = ("127.0.0.1", port)  # loopback only, and the same port after a restart
    return Server(service, container, port, password)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _start(server: Server) -> Exception | None:
    try:
        server.container.start()  # waits until psql answers inside the container
    except Exception as error:  # noqa: BLE001 - reported by running_servers once every start has finished
        return error
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Target:
    """Where one alias points: a server, a database on it and the role the app logs in with."""

    server: Server
    dbname: str
    user: str = SUPERUSER
    password: str | None = None  # None: the server's superuser password

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        return self.server.connect(self.dbname, self.user, self.password, **kwargs)


def write_config(path: Path, targets: Mapping[str, Target], *, health_timeout: float = 2.0) -> Path:
    """The YAML a user would write for these servers, routed as the topology routes them (ROUTING)."""
    databases = {
        alias: {
            "engine": "postgresql",
            "name": target.dbname,
            "user": target.user,
            "password": target.server.password if target.password is None else target.password,
            "host": target.server.host,
            "port": target.server.port,
            "options": {"connect_timeout": 5},
            **_jsonable(ROUTING.get(alias, {})),
        }
        for alias, target in targets.items()
    }
    config = {
        "environment": "test",
        "secret_key": SECRET_KEY,
        "databases": databases,
        "health": {"timeout": health_timeout},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _jsonable(routing: Mapping[str, Any]) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, tuple) else value for key, value in routing.items()}


def fresh_targets(servers: Mapping[str, Server], prefix: str) -> dict[str, Target]:
    """A new empty database on each server (`<prefix>_<service>`), one per alias: cheaper than new containers."""
    targets = {}
    for alias, service in SERVICES.items():
        name = f"{prefix}_{service}"
        servers[service].create_database(name)
        targets[alias] = Target(servers[service], name)
    return targets


def tables(target: Target) -> set[str]:
    """The tables in the database's public schema, read from the catalog."""
    with target.connect() as connection:
        rows = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {row[0] for row in rows}


@dataclass(frozen=True)
class ServiceRoles:
    """A database with the stack's two roles: the owner runs migrations, the runtime role serves requests."""

    owner: Target
    runtime: Target


def create_service_database(server: Server, dbname: str) -> ServiceRoles:
    """`dbname` with the Compose stack's two roles, made by the stack's own init script (compose/db-init):
    `<service>_owner` owns the schema, `<service>_runtime` reads and writes rows, nobody else connects."""
    owner, runtime = f"{server.service}_owner", f"{server.service}_runtime"
    passwords = {owner: secrets.token_hex(12), runtime: secrets.token_hex(12)}
    server.create_database(dbname)
    # Run inside the container as the entrypoint would at init: psql on the local socket as the superuser.
    exit_code, output = server.container.get_wrapped_container().exec_run(
        ["bash", "-c", DB_INIT.read_text()],
        user="postgres",
        environment={
            "POSTGRES_USER": SUPERUSER,
            "POSTGRES_DB": dbname,
            "DB_OWNER": owner,
            "DB_OWNER_PASSWORD": passwords[owner],
            "DB_RUNTIME": runtime,
            "DB_RUNTIME_PASSWORD": passwords[runtime],
        },
    )
    if exit_code != 0:
        raise RuntimeError(f"{DB_INIT.relative_to(REPO)} failed on {server.service}: {output.decode()}")
    return ServiceRoles(
        Target(server, dbname, owner, passwords[owner]), Target(server, dbname, runtime, passwords[runtime])
    )
