"""scripts/compose_databases.py and compose/compose.yaml: every service hardened, secrets as files, role timeouts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compose_databases", REPO / "scripts" / "compose_databases.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


GENERATOR = _generator()


def _services() -> dict[str, dict[str, Any]]:
    """The generated services (the replica profile's included) and the static ones, as Compose would merge them."""
    stack, _ = GENERATOR.read_stack(REPO / "config")
    generated = GENERATOR.render(stack)["services"]
    static = yaml.safe_load((REPO / "compose" / "compose.yaml").read_text())["services"]
    return {name: service for name, service in generated.items() if name not in static} | static


@pytest.mark.parametrize("name", sorted(_services()))
def test_every_service_is_hardened(name: str) -> None:
    service = _services()[name]

    assert service["logging"] == {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}}
    assert service["read_only"] is True
    assert any(mount.startswith("/tmp:") for mount in service["tmpfs"])  # noqa: S108 - a container's own tmpfs
    assert service["cap_drop"] == ["ALL"] and "cap_add" not in service
    assert service["security_opt"] == ["no-new-privileges:true"]
    assert service["mem_limit"] and service["pids_limit"] > 0


def test_the_app_outlives_gunicorns_graceful_stop_and_is_not_published() -> None:
    app = _services()["app"]
    assert app["stop_grace_period"] == "35s"
    assert "ports" not in app


def test_every_secret_is_a_file_so_roots_can_be_read_only() -> None:
    stack, _ = GENERATOR.read_stack(REPO / "config")
    secrets = (
        GENERATOR.render(stack)["secrets"] | yaml.safe_load((REPO / "compose" / "compose.yaml").read_text())["secrets"]
    )
    assert [name for name, secret in secrets.items() if "file" not in secret] == []


def test_each_server_gets_its_alias_timeouts_and_the_defaults_otherwise() -> None:
    configured = SimpleNamespace(timeouts=SimpleNamespace(statement=5000, idle_in_transaction=0))
    assert GENERATOR._timeouts(configured) == {"statement": 5000, "idle_in_transaction": 0}
    assert GENERATOR._timeouts(SimpleNamespace()) == {"statement": 30_000, "idle_in_transaction": 60_000}

    stack, _ = GENERATOR.read_stack(REPO / "config")
    environment = GENERATOR.render(stack)["services"]["db-blog"]["environment"]
    assert environment["DB_RUNTIME"] == "blog_runtime"
    assert environment["DB_RUNTIME_STATEMENT_TIMEOUT"] == str(stack.servers["blog_db"].timeouts["statement"])
    assert environment["DB_RUNTIME_IDLE_IN_TRANSACTION_TIMEOUT"] == str(
        stack.servers["blog_db"].timeouts["idle_in_transaction"]
    )
