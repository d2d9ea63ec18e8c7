"""The Compose stack end to end: started with `make up` as a user would, checked over HTTPS and with psql."""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from multidb.topology import load_topology

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
# Never the developer's stack (that one is named after the checkout); E2E_COMPOSE_PROJECT names another.
PROJECT = os.environ.get("E2E_COMPOSE_PROJECT", "multidb-e2e")
MAKE_UP_TIMEOUT = 900  # a bare machine installs Docker and builds images first
# alias -> (service, database, role prefix), as scripts/compose_databases.py derives them from the topology.
DATABASES = {
    alias: (db.host, db.name, db.name)
    for alias, db in load_topology(REPO / "config" / "compose.yaml").databases.items()
}
API_USER, API_PASSWORD = "e2e-user", "e2e-" + uuid.uuid4().hex
# The certificate every test stack (and a copy of the repository, test_add_database.py) is served with.
TLS_DIR = REPO / "build" / "tls"


@dataclass
class Stack:
    env: dict[str, str]
    env_file: Path
    port: int  # the proxy's HTTPS port on 127.0.0.1 (HTTPS_PORT)

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        """The local CA that signed the proxy's certificate (scripts/ensure-tls.sh): clients verify with it."""
        return Path(self.env.get("TLS_DIR", TLS_DIR)) / "ca.crt"

    @property
    def http_port(self) -> int:
        return int(self.env["HTTP_PORT"])

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def make(
        self, target: str, *, check: bool = True, timeout: float = MAKE_UP_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["make", "--no-print-directory", "-C", str(REPO), target],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check:
            assert result.returncode == 0, f"make {target} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def compose(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(REPO / "scripts" / "compose.sh"), *args],
            env={**self.env, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check:
            assert result.returncode == 0, f"docker compose {args[0]} failed:\n{result.stderr}"
        return result

    def secret(self, name: str) -> str:
        for line in self.env_file.read_text().splitlines():
            key, _, value = line.partition("=")
            if key == name:
                return value
        raise KeyError(name)

    def superuser_sql(self, service: str, database: str, sql: str, **params: str) -> str:
        """psql as the superuser over the container's socket; `params` are psql variables (:'name', :"name")."""
        return self.psql(service, ["-U", "postgres", "-d", database], sql, params).stdout.strip()

    def role_sql(
        self, service: str, host: str, role: str, database: str, sql: str, **params: str
    ) -> subprocess.CompletedProcess[str]:
        """psql from inside `service` over TCP to `host`, authenticating as `role` with its password."""
        prefix, kind = role.split("_")
        password = self.secret(f"{prefix.upper()}_DB_{kind.upper()}_PASSWORD")
        connection = ["-h", host, "-U", role, "-d", database]
        return self.psql(service, connection, sql, params, check=False, password=password)

    def psql(
        self,
        service: str,
        connection: list[str],
        sql: str,
        params: dict[str, str],
        *,
        check: bool = True,
        password: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        # SQL on stdin, values as psql variables: nothing is spliced into the statement text.
        variables = [arg for name, value in params.items() for arg in ("-v", f"{name}={value}")]
        command = ["psql", *connection, "-X", "-v", "ON_ERROR_STOP=1", "-tA", *variables]
        env = {"PGPASSWORD": password} if password else {}
        return self.compose("exec", "-T", "-e", "PGPASSWORD", service, *command, check=check, env=env, stdin=sql)

    def services(self) -> dict[str, dict[str, Any]]:
        out = self.compose("ps", "--all", "--format", "json").stdout.strip()
        rows = json.loads(out) if out.startswith("[") else [json.loads(line) for line in out.splitlines() if line]
        return {row["Service"]: row for row in rows}

    def http(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(f"{self.base_url}{path}", method=method)
        if body is not None:
            request.data = json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
            token = base64.b64encode(f"{API_USER}:{API_PASSWORD}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=15, context=self.ssl_context()) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


def stack_env(project: str, env_file: Path) -> dict[str, str]:
    """The environment of a test stack: its project and env file, free host ports for the proxy, an edge
    network of its own (beside a developer's stack and another test stack), the repository's certificate."""
    return {
        **os.environ,
        "COMPOSE_PROJECT_NAME": project,
        "ENV_FILE": str(env_file),
        "HTTPS_PORT": str(_free_port()),
        "HTTP_PORT": str(_free_port()),
        "EDGE_NET_PREFIX": _free_edge_prefix(),
        "TLS_DIR": str(TLS_DIR),
    }


@contextmanager
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack started with `make up` in project multidb-e2e; destroyed on exit (the `stack` fixture, conftest.py)."""
    env_file = tmp_path_factory.mktemp("e2e") / ".env"
    env = stack_env(PROJECT, env_file)
    stack = Stack(env=env, env_file=env_file, port=int(env["HTTPS_PORT"]))
    stack.compose("down", "--volumes", "--remove-orphans", check=False)  # leftovers of a killed run
    try:
        up = stack.make("up")
        assert "generated" in up.stdout, up.stdout  # a fresh checkout gets an env file, and is told so
        assert f"app at {stack.base_url}/" in up.stdout
        stack.compose(
            "exec",
            "-T",
            "-e",
            "DJANGO_SUPERUSER_PASSWORD",
            "app",
            "python",
            "app/manage.py",
            "createsuperuser",
            "--noinput",
            "--username",
            API_USER,
            "--email",
            "e2e@example.invalid",
            env={"DJANGO_SUPERUSER_PASSWORD": API_PASSWORD},
        )
        yield stack
    finally:
        stack.env["FORCE"] = "1"
        stack.env["DELETE_BACKUPS"] = "1"  # the backup repository too (kept by a plain destroy)
        stack.make("destroy", check=False, timeout=300)


def test_make_up_leaves_every_service_healthy_and_migrate_completed(stack: Stack) -> None:
    services = stack.services()
    for name in [service for service, _, _ in DATABASES.values()] + ["app", "proxy"]:
        assert (services[name]["State"], services[name]["Health"]) == ("running", "healthy"), name
    assert (services["migrate"]["State"], services["migrate"]["ExitCode"]) == ("exited", 0)


def test_readyz_reports_default_blog_db_and_shop_db_ok(stack: Stack) -> None:
    status, body = stack.http("GET", "/readyz")
    assert status == 200, body
    assert {alias: db["status"] for alias, db in body["databases"].items()} == dict.fromkeys(DATABASES, "ok")


def test_only_the_proxy_is_published_on_loopback_and_neither_app_nor_databases(stack: Stack) -> None:
    assert stack.compose("port", "proxy", "8443").stdout.strip() == f"127.0.0.1:{stack.port}"
    assert stack.compose("port", "proxy", "8080").stdout.strip() == f"127.0.0.1:{stack.http_port}"
    services = stack.services()
    for service in [service for service, _, _ in DATABASES.values()] + ["app"]:
        assert [p for p in services[service]["Publishers"] or [] if p["PublishedPort"]] == [], service


def test_blog_post_from_the_api_lands_in_blog_database_only(stack: Stack) -> None:
    title = f"post-{uuid.uuid4().hex[:8]}"
    status, body = stack.http("POST", "/api/posts/", {"title": title, "content": "hello"})
    assert status == 201, body

    assert stack.superuser_sql("db-blog", "blog", "SELECT count(*) FROM blog_post WHERE title = :'t'", t=title) == "1"
    for service, database in (("db-main", "main"), ("db-shop", "shop")):
        assert stack.superuser_sql(service, database, "SELECT to_regclass('public.blog_post') IS NULL") == "t"
    # The author lives in main: the user table is there and only there.
    author = stack.superuser_sql("db-main", "main", "SELECT count(*) FROM auth_user WHERE username = :'u'", u=API_USER)
    assert author == "1"


def test_shop_order_from_the_api_lands_in_shop_database_only(stack: Stack) -> None:
    number = f"E2E-{uuid.uuid4().hex[:8]}"
    status, body = stack.http("POST", "/api/orders/", {"order_number": number, "total": "12.50"})
    assert status == 201, body
    status, body = stack.http("POST", "/api/products/", {"name": number, "price": "1.00", "stock": 3})
    assert status == 201, body

    assert (
        stack.superuser_sql("db-shop", "shop", "SELECT total FROM shop_order WHERE order_number = :'n'", n=number)
        == "12.50"
    )
    assert stack.superuser_sql("db-shop", "shop", "SELECT stock FROM shop_product WHERE name = :'n'", n=number) == "3"
    for service, database in (("db-main", "main"), ("db-blog", "blog")):
        assert stack.superuser_sql(service, database, "SELECT to_regclass('public.shop_order') IS NULL") == "t"


@pytest.mark.parametrize(
    ("service", "database", "allowed"),
    [
        ("db-main", "main", ("auth_", "django_", "multidb_")),
        ("db-blog", "blog", ("blog_",)),  # blog's migration history is recorded in main (migrate_to: default)
        ("db-shop", "shop", ("shop_", "django_migrations")),
    ],
)
def test_each_database_holds_only_its_own_tables(
    stack: Stack, service: str, database: str, allowed: tuple[str, ...]
) -> None:
    tables = stack.superuser_sql(
        service, database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    ).split()
    assert tables, f"{database} has no tables at all"
    assert [t for t in tables if not t.startswith(allowed)] == []


@pytest.mark.parametrize(
    ("alias", "table"), [("default", "auth_user"), ("blog_db", "blog_post"), ("shop_db", "shop_order")]
)
def test_runtime_role_reads_rows_but_cannot_change_the_schema(stack: Stack, alias: str, table: str) -> None:
    service, database, prefix = DATABASES[alias]
    runtime = f"{prefix}_runtime"

    read = stack.role_sql(service, "127.0.0.1", runtime, database, 'SELECT count(*) >= 0 FROM :"t"', t=table)
    assert read.stdout.strip() == "t", read.stderr
    create = stack.role_sql(service, "127.0.0.1", runtime, database, "CREATE TABLE intruder (id int)")
    assert create.returncode != 0 and "permission denied for schema public" in create.stderr
    alter = stack.role_sql(service, "127.0.0.1", runtime, database, 'ALTER TABLE :"t" ADD COLUMN intruder int', t=table)
    assert alter.returncode != 0 and "must be owner" in alter.stderr
    drop = stack.role_sql(service, "127.0.0.1", runtime, database, 'DROP TABLE :"t"', t=table)
    assert drop.returncode != 0 and "must be owner" in drop.stderr


@pytest.mark.parametrize("role", ["blog_owner", "blog_runtime"])
def test_blog_roles_cannot_connect_to_the_shop_database(stack: Stack, role: str) -> None:
    # Control: the same credentials do open the blog database, so the refusals below are about the target.
    assert stack.role_sql("db-blog", "db-blog", role, "blog", "SELECT 1").stdout.strip() == "1"

    shop = stack.role_sql("db-blog", "db-shop", role, "shop", "SELECT 1")
    assert shop.returncode != 0 and "authentication failed" in shop.stderr
    maintenance = stack.role_sql("db-blog", "db-blog", role, "postgres", "SELECT 1")
    assert maintenance.returncode != 0 and 'permission denied for database "postgres"' in maintenance.stderr


def test_make_down_then_make_up_keeps_every_row(stack: Stack) -> None:
    title = f"kept-{uuid.uuid4().hex[:8]}"
    assert stack.http("POST", "/api/posts/", {"title": title, "content": "survives"})[0] == 201
    counts = {alias: _row_count(stack, alias) for alias in DATABASES}

    stack.make("down")
    assert stack.services() == {}
    up = stack.make("up")
    assert "readyz: HTTP 200" in up.stdout

    assert {alias: _row_count(stack, alias) for alias in DATABASES} == counts
    status, body = stack.http("GET", "/api/posts/")
    assert status == 200 and title in [post["title"] for post in body["results"]]


def test_broken_migrate_leaves_app_stopped_and_make_up_fails_naming_it(stack: Stack) -> None:
    stack.make("down")
    stack.compose("up", "--detach", "--wait", "db-shop")
    # Break shop_db for the migrate job only: its owner role may no longer connect.
    stack.superuser_sql("db-shop", "shop", "REVOKE CONNECT ON DATABASE shop FROM shop_owner")
    try:
        up = stack.make("up", check=False)
        services = stack.services()
    finally:
        stack.superuser_sql("db-shop", "shop", "GRANT CONNECT ON DATABASE shop TO shop_owner")

    assert up.returncode != 0
    assert "up: failed: migrate (exited 1); app not started" in up.stderr
    assert "shop_db" in up.stderr and 'permission denied for database "shop"' in up.stderr
    assert (services["migrate"]["State"], services["migrate"]["ExitCode"]) == ("exited", 1)
    assert services["app"]["State"] != "running"
    assert "all services healthy" not in up.stdout

    # Once repaired, the same command converges.
    assert "readyz: HTTP 200" in stack.make("up").stdout


def _row_count(stack: Stack, alias: str) -> str:
    service, database, _ = DATABASES[alias]
    table = {"default": "auth_user", "blog_db": "blog_post", "shop_db": "shop_order"}[alias]
    return stack.superuser_sql(service, database, 'SELECT count(*) FROM :"t"', t=table)


def _free_edge_prefix() -> str:
    """A 10.213.N prefix that no Docker network on this host uses yet (compose.yaml's `edge`, a /28)."""
    names = subprocess.run(["docker", "network", "ls", "-q"], capture_output=True, text=True, check=True).stdout.split()
    subnets = subprocess.run(
        ["docker", "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", *names],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    used = {subnet.rsplit(".", 1)[0] for subnet in subnets}
    free = [f"10.213.{n}" for n in range(100, 250) if f"10.213.{n}" not in used]
    return secrets.choice(free)  # not the first free one: two test runs starting together would take it both


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
