"""Clone servers: throwaway PostgreSQL containers, one per source, that a rehearsal migrates (Testcontainers)."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psycopg

# Testcontainers reads these at import. Its Ryuk reaper image cannot be pulled where no registry is reachable
# (every container here is removed by label instead); and where a /.dockerenv exists it would hand out the bridge
# gateway instead of localhost for the published ports.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")

from testcontainers.community.postgres import PostgresContainer
from testcontainers.core.docker_client import DockerClient
from testcontainers.core.network import Network

from .errors import RehearsalError

# Every container a rehearsal starts carries this label (value: the run id), so leftovers can be found:
# docker ps -a --filter label=multidb.rehearsal
LABEL = "multidb.rehearsal"
SUPERUSER = "postgres"


def choose_image(major: int, explicit: str | None, images_env: Path) -> str:
    """The image for the clone server of a PostgreSQL `major` source: --image, $POSTGRES_IMAGE, build/images.env,
    then postgres:<major> or multidb-local/postgres:<major> if present; always of the same major."""
    candidates = [explicit] if explicit else [os.environ.get("POSTGRES_IMAGE"), _from_env_file(images_env)]
    candidates += [] if explicit else [f"postgres:{major}", f"multidb-local/postgres:{major}"]
    client = DockerClient()
    seen: list[str] = []
    for image in filter(None, candidates):
        found = _image_major(client, image)
        if found == major:
            return image
        seen.append(f"{image} ({'not present' if found is None else f'PostgreSQL {found}'})")
    raise RehearsalError(
        f"no local PostgreSQL {major} image for the clone servers (tried {', '.join(seen)}); "
        f"pass --image with a PostgreSQL {major} image (`make bootstrap` builds or pulls the default one)"
    )


class CloneServer:
    """One throwaway PostgreSQL server that receives one source's database, reachable on a loopback port."""

    def __init__(self, alias: str, image: str, dbname: str, run_id: str, network: Network | None = None) -> None:
        self.alias = alias
        self.image = image
        self.dbname = dbname
        self.password = secrets.token_hex(16)
        self.container = _Postgres(image, username=SUPERUSER, password=self.password, dbname=dbname, driver=None)
        self.container.ports["5432"] = ("127.0.0.1", None)  # type: ignore[assignment] # loopback, any free port
        self.container.with_kwargs(labels={LABEL: run_id, f"{LABEL}.alias": alias})
        if network is not None:
            self.container.with_network(network)
        self.port = 0
        self.removed = False
        self.login: tuple[str, str] | None = None  # (role, password) migrate_all runs as; None: the superuser

    def start(self) -> None:
        """Start and wait until psql answers inside the container, then read the loopback port."""
        self.container.start()
        self.port = int(self.container.get_exposed_port(5432))

    @property
    def container_id(self) -> str | None:
        wrapped = self.container._container  # None until created
        return str(wrapped.id) if wrapped is not None else None

    def settings(self) -> dict[str, Any]:
        """The config keys pointing an alias at this clone server, as the source's owner role once recreated."""
        user, password = self.login or (SUPERUSER, self.password)
        return {
            "name": self.dbname,
            "user": user,
            "password": password,
            "host": "127.0.0.1",
            "port": self.port,
        }

    def conninfo(self) -> dict[str, str]:
        return {"host": "127.0.0.1", "port": str(self.port), "dbname": self.dbname, "user": SUPERUSER}

    def connect(self) -> psycopg.Connection[Any]:
        dsn = psycopg.conninfo.make_conninfo(**self.conninfo(), connect_timeout="10")
        return psycopg.connect(dsn, password=self.password, autocommit=True)

    def remove(self) -> None:
        """Remove the container and its data volume; safe to call again, or when it never started."""
        if self.container_id is not None and not self.removed:
            with contextlib.suppress(Exception):  # remove_leftovers() sweeps what is left
                self.container.stop(force=True, delete_volume=True)
                self.removed = True


class _Postgres(PostgresContainer):
    """Testcontainers' PostgreSQL, ready once psql answers over TCP inside it. Polled every 0.1 s (each dump
    waits for this, on the rehearsal's critical path); a container that is gone ends the wait at once instead
    of being retried until the timeout, so an interrupted rehearsal stops promptly."""

    def _connect(self) -> None:
        probe = ["psql", "-U", self.username, "-d", self.dbname, "-h", "127.0.0.1", "-Atc", "SELECT 1"]
        deadline = time.monotonic() + 120
        while self.exec(["env", f"PGPASSWORD={self.password}", *probe]).exit_code != 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL in {self.image} did not answer within 120 s")
            time.sleep(0.1)  # poll interval between real queries


def run_network(run_id: str) -> Network:
    """A bridge network of the run's own for its clone servers: the machine's default bridge does not matter
    then (they are reached on their published loopback ports either way)."""
    return Network(docker_network_kw={"labels": {LABEL: run_id}}).create()


def remove_leftovers(run_id: str) -> list[str]:
    """Force-remove every container, then the network, labelled with this run; the ids of what remains."""
    client = DockerClient().client
    remaining = []
    label = {"label": f"{LABEL}={run_id}"}
    for container in client.containers.list(all=True, filters=label):
        try:
            container.remove(force=True, v=True)
        except Exception:  # noqa: BLE001 - reported to the user, who can remove it by label
            remaining.append(str(container.id))
    for network in client.networks.list(filters=label):
        try:
            network.remove()
        except Exception:  # noqa: BLE001
            remaining.append(f"network {network.name}")
    return remaining


def docker_available() -> str | None:
    """None if the Docker engine answers, else why not."""
    try:
        DockerClient().client.ping()
    except Exception as error:  # noqa: BLE001 - any failure to reach the engine means "no Docker"
        return f"{type(error).__name__}: {error}"
    return None


def _from_env_file(path: Path) -> str | None:
    if not path.exists():
        return None
    values: Mapping[str, str] = dict(
        line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#")
    )
    return values.get("POSTGRES_IMAGE", "").strip() or None


def _image_major(client: DockerClient, image: str) -> int | None:
    """The PostgreSQL major of a local image (its PG_MAJOR, else its tag); None if the image is absent."""
    try:
        attributes = client.client.images.get(image).attrs
    except Exception:  # noqa: BLE001 - absent or unreadable: not a candidate
        return None
    for entry in attributes.get("Config", {}).get("Env") or []:
        if entry.startswith("PG_MAJOR="):
            return int(entry.split("=", 1)[1].split(".")[0])
    match = re.search(r":(\d+)", image)
    return int(match.group(1)) if match else None
