"""The Compose stack's edge (docs/tls.md): the TLS proxy, what is published, hardening, role timeouts."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from typing import Any

import pytest

from multidb.topology import load_topology
from tests.e2e.test_stack import DATABASES, REPO, Stack

pytestmark = pytest.mark.e2e

# What compose/compose.yaml and scripts/compose_databases.py promise (docs/tls.md, "Hardening").
SERVICES = [
    "app",
    "migrate",
    "proxy",
    "db-main",
    "db-blog",
    "db-shop",
    "db-main-backup",
    "db-blog-backup",
    "db-shop-backup",
]
DEFAULT_TIMEOUTS = {"statement": 30_000, "idle_in_transaction": 60_000}


def containers(stack: Stack) -> dict[str, dict[str, Any]]:
    """`docker inspect` of every container of the stack (the exited migrate job too), by service."""
    ids = stack.compose("ps", "--all", "--quiet").stdout.split()
    out = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True, check=True).stdout
    return {item["Config"]["Labels"]["com.docker.compose.service"]: item for item in json.loads(out)}


def test_https_is_verified_with_the_stacks_ca_for_127_0_0_1_and_localhost(stack: Stack) -> None:
    with urllib.request.urlopen(f"{stack.base_url}/healthz", timeout=15, context=stack.ssl_context()) as response:
        assert response.status == 200
    for name in ("127.0.0.1", "localhost"):
        with socket.create_connection(("127.0.0.1", stack.port), timeout=15) as raw:
            with stack.ssl_context().wrap_socket(raw, server_hostname=name) as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3"), name
    # Control: the certificate is not trusted by default, so the check above is the CA's doing.
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(f"{stack.base_url}/healthz", timeout=15, context=ssl.create_default_context())


def test_the_proxy_speaks_http2(stack: Stack) -> None:
    context = stack.ssl_context()
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", stack.port), timeout=15) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.selected_alpn_protocol() == "h2"


def test_plain_http_redirects_to_the_same_url_over_https(stack: Stack) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=15)
    connection.request("GET", "/api/posts/?page=2", headers={"Host": f"127.0.0.1:{stack.http_port}"})
    response = connection.getresponse()
    connection.close()

    assert response.status in (301, 308)
    assert response.getheader("Location") == f"{stack.base_url}/api/posts/?page=2"


def test_the_app_is_not_published_on_the_host_only_the_proxy_is(stack: Stack) -> None:
    inspected = containers(stack)
    published = {
        service: sorted(
            int(binding["HostPort"])
            for bindings in (item["NetworkSettings"]["Ports"] or {}).values()
            for binding in bindings or []
        )
        for service, item in inspected.items()
    }
    assert {service: ports for service, ports in published.items() if ports} == {
        "proxy": sorted([stack.port, stack.http_port])
    }
    assert not inspected["app"]["HostConfig"]["PortBindings"]


def test_the_proxy_adds_a_request_id_and_gunicorn_trusts_only_the_proxy(stack: Stack) -> None:
    ids = set()
    for _ in range(2):
        with urllib.request.urlopen(f"{stack.base_url}/healthz", timeout=15, context=stack.ssl_context()) as response:
            ids.add(response.getheader("X-Request-ID"))
    assert len(ids) == 2 and all(len(request_id or "") == 32 for request_id in ids)

    inspected = containers(stack)
    proxy_address = inspected["proxy"]["NetworkSettings"]["Networks"][f"{stack.env['COMPOSE_PROJECT_NAME']}_edge"]
    app_env = dict(line.split("=", 1) for line in inspected["app"]["Config"]["Env"])
    assert app_env["GUNICORN_FORWARDED_ALLOW_IPS"] == proxy_address["IPAddress"]


def test_a_body_over_the_proxys_limit_is_refused_there(stack: Stack) -> None:
    request = urllib.request.Request(f"{stack.base_url}/api/posts/", data=b"x" * (2 * 1024 * 1024), method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=15, context=stack.ssl_context())
    assert refused.value.code == 413


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_hardened(stack: Stack, service: str) -> None:
    host = containers(stack)[service]["HostConfig"]

    assert host["LogConfig"]["Type"] == "json-file"
    assert {"max-size", "max-file"} <= host["LogConfig"]["Config"].keys()
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert host["Memory"] > 0 and host["PidsLimit"] > 0
    assert host["ReadonlyRootfs"] is True
    assert "/tmp" in host["Tmpfs"]  # noqa: S108 - the container's own tmpfs


def test_the_app_stops_later_than_gunicorns_graceful_timeout(stack: Stack) -> None:
    assert containers(stack)["app"]["Config"]["StopTimeout"] == 35


@pytest.mark.parametrize("alias", sorted(DATABASES))
def test_runtime_role_has_the_configured_timeouts(stack: Stack, alias: str) -> None:
    service, database, prefix = DATABASES[alias]
    configured = getattr(load_topology(REPO / "config" / "compose.yaml").databases[alias], "timeouts", None)
    wanted = {name: int(getattr(configured, name, default)) for name, default in DEFAULT_TIMEOUTS.items()}

    shown = stack.role_sql(
        service,
        "127.0.0.1",
        f"{prefix}_runtime",
        database,
        "SELECT current_setting('statement_timeout'), current_setting('idle_in_transaction_session_timeout')",
    )
    assert shown.stdout.strip() == f"{_shown(wanted['statement'])}|{_shown(wanted['idle_in_transaction'])}", (
        shown.stderr
    )


def _shown(milliseconds: int) -> str:
    """A millisecond setting as PostgreSQL's SHOW prints it: the largest unit that divides it."""
    for unit, size in (("h", 3_600_000), ("min", 60_000), ("s", 1_000)):
        if milliseconds and milliseconds % size == 0:
            return f"{milliseconds // size}{unit}"
    return f"{milliseconds}ms" if milliseconds else "0"
