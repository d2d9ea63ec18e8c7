"""Throwaway systemd containers as Ansible hosts, and running deploy.yml against them."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[3]
HOSTS_DIR = Path(__file__).resolve().parent
ANSIBLE_DIR = REPO / "ansible"
TEST_INVENTORY = ANSIBLE_DIR / "inventories" / "test"
PLAYBOOK = ANSIBLE_DIR / "deploy.yml"
RESTORE_PLAYBOOK = ANSIBLE_DIR / "restore.yml"
VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin"

HOST_IMAGE = "multidb-test/ansible-host:bookworm"
LOCAL_BASE_IMAGE = "multidb-local/debian:bookworm"  # built by scripts/ensure-images.sh without a registry
OFFICIAL_BASE_IMAGE = "debian:bookworm"
CONTEXT_LABEL = "multidb.context-sha"
# systemd as PID 1 without --privileged (runc here cannot grant every capability): just what systemd needs.
SYSTEMD_RUN_OPTIONS = (
    "--cap-add=SYS_ADMIN",
    "--security-opt=seccomp=unconfined",
    "--volume=/sys/fs/cgroup:/sys/fs/cgroup:ro",
    "--tmpfs=/run",
    "--tmpfs=/run/lock",
    "--tmpfs=/tmp",
)
# The test inventory's TLS certificate and key (its vault.yml reads them): self-signed for the app hosts'
# names, made once per checkout by ensure_test_certificate() and verified by the tests as the CA.
TEST_TLS_DIR = REPO / "build" / "ansible" / "test-tls"
TEST_CERTIFICATE = TEST_TLS_DIR / "multidb.crt"
TEST_KEY = TEST_TLS_DIR / "multidb.key"
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$", re.MULTILINE)


def lint_topology(ansible_dir: Path = ANSIBLE_DIR) -> ModuleType:
    """ansible/lint_topology.py (not a package: it lives beside the playbooks) as a module."""
    spec = importlib.util.spec_from_file_location("lint_topology", ansible_dir / "lint_topology.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def inventory_databases(inventory: Path = TEST_INVENTORY) -> dict[str, dict[str, Any]]:
    """Django alias -> {host, name, owner, user, apps, ...}: multidb_databases as deploy.yml derives it."""
    databases: dict[str, dict[str, Any]] = lint_topology().derived(inventory)
    return databases


HOSTS: tuple[str, ...] = tuple(lint_topology().inventory_hosts(TEST_INVENTORY))  # inventory names = network aliases


class DockerUnavailableError(RuntimeError):
    """No usable Docker engine (and it could not be installed)."""


def docker(*args: str, check: bool = True, timeout: float = 300, stdin: str | None = None) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, input=stdin, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def ensure_docker() -> None:
    """Install and start Docker with the stack's bootstrap script when it is not answering."""
    if shutil.which("docker") and _engine_answers():
        return
    bootstrap = REPO / "scripts" / "bootstrap-docker.sh"
    if bootstrap.exists():
        done = subprocess.run(["bash", str(bootstrap)], capture_output=True, text=True, check=False)
        if done.returncode == 0 and _engine_answers():
            return
        raise DockerUnavailableError(f"scripts/bootstrap-docker.sh failed: {done.stderr.strip()[-2000:]}")
    raise DockerUnavailableError("no Docker engine answers `docker info`")


def ensure_host_image() -> str:
    """Build the systemd host image once; rebuilt only when its Dockerfile changes."""
    digest = hashlib.sha256((HOSTS_DIR / "Dockerfile").read_bytes()).hexdigest()[:16]
    current = docker(
        "image", "inspect", "-f", f'{{{{index .Config.Labels "{CONTEXT_LABEL}"}}}}', HOST_IMAGE, check=False
    )
    if current.strip() == digest:
        return HOST_IMAGE
    docker(
        "build", "--quiet", f"--build-arg=BASE_IMAGE={_base_image()}", f"--label={CONTEXT_LABEL}={digest}",
        f"--tag={HOST_IMAGE}", "--file", str(HOSTS_DIR / "Dockerfile"), str(HOSTS_DIR),
        timeout=900,
    )  # fmt: skip
    return HOST_IMAGE


@dataclass
class Hosts:
    """The test inventory's hosts as running systemd containers on a private network: <prefix>-<host>."""

    prefix: str
    network: str

    def container(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def exec(
        self, host: str, *command: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["docker", "exec", self.container(host), *command],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(f"{host}: {' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
        return done

    def psql(self, host: str, sql: str, database: str = "postgres") -> list[str]:
        """Rows of `sql` run as the superuser over the local socket, one string per row."""
        out = self.exec(host, "runuser", "-u", "postgres", "--", "psql", "-X", "-q", "-At", "-d", database, "-c", sql)
        return [line for line in out.stdout.splitlines() if line]

    def http_get(self, host: str, path: str) -> tuple[int, str]:
        """GET http://127.0.0.1:8000<path> from inside the host: the status and the body."""
        script = (
            "import sys, urllib.request, urllib.error\n"
            "try:\n"
            f"    r = urllib.request.urlopen('http://127.0.0.1:8000{path}', timeout=10)\n"
            "    code, body = r.status, r.read()\n"
            "except urllib.error.HTTPError as e:\n"
            "    code, body = e.code, e.read()\n"
            "print(code); sys.stdout.write(body.decode())\n"
        )
        out = self.exec(host, "python3", "-c", script).stdout
        status, _, body = out.partition("\n")
        return int(status), body

    @property
    def env(self) -> dict[str, str]:
        """The environment ansible-playbook needs to reach these hosts."""
        return {"MULTIDB_ANSIBLE_PREFIX": self.prefix}


@contextmanager
def throwaway_hosts(image: str) -> Iterator[Hosts]:
    """Start one container per test inventory host, wait until systemd runs in each, remove all afterwards."""
    prefix = f"multidb-ansible-{uuid.uuid4().hex[:8]}"
    hosts = Hosts(prefix=prefix, network=prefix)
    try:
        docker("network", "create", "--label", "multidb.test=ansible", hosts.network)
        for host in HOSTS:
            docker(
                "run", "--detach", "--name", hosts.container(host), "--hostname", host,
                "--network", hosts.network, "--network-alias", host, "--label", "multidb.test=ansible",
                *SYSTEMD_RUN_OPTIONS, image,
            )  # fmt: skip
        for host in HOSTS:
            _wait_for_systemd(hosts, host)
        yield hosts
    finally:
        for host in HOSTS:
            docker("rm", "--force", "--volumes", hosts.container(host), check=False)
        docker("network", "rm", hosts.network, check=False)


@dataclass
class PlaybookRun:
    returncode: int
    output: str
    seconds: float

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        """PLAY RECAP: host -> {ok, changed, unreachable, failed, skipped, rescued, ignored}."""
        tail = self.output.rsplit("PLAY RECAP", 1)[-1]
        return {
            m["host"]: {k: int(v) for k, v in (pair.split("=") for pair in m["counts"].split())}
            for m in RECAP_LINE.finditer(tail)
        }


def ensure_test_certificate() -> Path:
    """A self-signed certificate for app-1 (and 127.0.0.1), with its key (0600), unless there is one already."""
    if TEST_CERTIFICATE.exists() and TEST_KEY.exists():
        return TEST_CERTIFICATE
    TEST_TLS_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "825", "-subj", "/CN=app-1", "-addext", "subjectAltName=DNS:app-1,DNS:localhost,IP:127.0.0.1",
         "-keyout", str(TEST_KEY), "-out", str(TEST_CERTIFICATE)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    TEST_KEY.chmod(0o600)
    return TEST_CERTIFICATE


def run_playbook(hosts: Hosts, *extra: str, timeout: float = 1800, playbook: Path = PLAYBOOK) -> PlaybookRun:
    """ansible-playbook deploy.yml (or `playbook`) -i inventories/test, as `make deploy` runs it."""
    ensure_test_certificate()
    env = {**os.environ, **hosts.env, "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    command: Sequence[str] = [str(VENV_BIN / "ansible-playbook"), str(playbook), "-i", str(TEST_INVENTORY), *extra]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False, cwd=REPO)
    return PlaybookRun(done.returncode, done.stdout + done.stderr, time.monotonic() - started)


def _engine_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False).returncode == 0


def _base_image() -> str:
    """The local Debian base (no registry here), else the official image (pullable there)."""
    ensure_images = REPO / "scripts" / "ensure-images.sh"
    if not _image_exists(LOCAL_BASE_IMAGE) and not _image_exists(OFFICIAL_BASE_IMAGE) and ensure_images.exists():
        subprocess.run(["bash", str(ensure_images)], capture_output=True, text=True, timeout=900, check=False)
    return LOCAL_BASE_IMAGE if _image_exists(LOCAL_BASE_IMAGE) else OFFICIAL_BASE_IMAGE


def _image_exists(image: str) -> bool:
    return docker("image", "inspect", image, check=False, timeout=30) != ""


def _wait_for_systemd(hosts: Hosts, host: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        state = hosts.exec(host, "systemctl", "is-system-running", check=False).stdout.strip()
        if state in ("running", "degraded"):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{hosts.container(host)}: systemd is still {state!r} after {timeout:.0f}s")
        time.sleep(0.5)
