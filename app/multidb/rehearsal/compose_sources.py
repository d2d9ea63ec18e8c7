"""The Compose stack's databases as rehearsal sources: per alias, its service and the variables that point at it."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..loader import config_path, load_config
from ..routing import build_routing_table
from ..topology import Topology, load_topology, placeholder


@dataclass(frozen=True)
class ComposeSource:
    """One database the rehearsal reads: its alias, Compose service and the variables of its connection."""

    alias: str
    service: str
    host_variable: str
    user_variable: str
    password_variable: str

    def line(self) -> str:
        return f"{self.alias} {self.service} {self.host_variable} {self.user_variable} {self.password_variable}"


def compose_sources(path: Path, installed_apps: list[str]) -> list[ComposeSource]:
    """The aliases a rehearsal of the config at `path` clones (migratable ones and the ones holding their
    history), each with its Compose service and the variables its host, user and password come from."""
    topology = load_topology(path, installed_apps)
    table = build_routing_table(topology.config, installed_apps)
    cloned = [alias for alias in table.aliases if alias in table.migratable or alias in table.migratable.values()]
    sources = [_source(topology, alias) for alias in cloned]
    # The host variable is named by convention: check that the config reads it (a literal host, or another
    # variable, would leave the rehearsal pointing at the Compose service name, unknown outside the stack).
    environ = {name: placeholder(name) for name in topology.required}
    environ.update({source.host_variable: f"{source.alias}.host-check" for source in sources})
    pointed = load_config(path, installed_apps, environ)
    for source in sources:
        if pointed.databases[source.alias].host != f"{source.alias}.host-check":
            raise _host_error(topology, source.alias)
    return sources


def _source(topology: Topology, alias: str) -> ComposeSource:
    """As the Compose file is generated (scripts/compose_databases.py): the service is the host's default in
    `${<PREFIX>_HOST:-<service>}`, and user and password are `${<PREFIX>_USER}` and `${<PREFIX>_PASSWORD}`."""
    service = topology.config.databases[alias].host
    if not service or topology.variable(alias, "host") is not None:
        raise _host_error(topology, alias)
    user, password = topology.credential_variables(alias)
    prefix = password.removesuffix("_PASSWORD")
    return ComposeSource(alias, service, f"{prefix}_HOST", user, password)


def _host_error(topology: Topology, alias: str) -> ConfigError:
    return ConfigError(
        str(topology.source),
        f"databases.{alias}.host",
        "is not ${<PREFIX>_HOST:-<service>} (the prefix of its password variable), so the rehearsal cannot point it",
        "write host: ${<PREFIX>_HOST:-db-<name>}",
    )


def _installed_apps(environ: Mapping[str, str]) -> list[str]:
    """INSTALLED_APPS of the settings module, imported under the local config (which needs no secrets)."""
    os.environ.pop("APP_CONFIG", None)
    os.environ["APP_ENV"] = "local"
    module = importlib.import_module(environ.get("DJANGO_SETTINGS_MODULE", "project.settings"))
    return list(module.INSTALLED_APPS)


def main() -> None:
    """Print one line per source: alias service host_variable user_variable password_variable."""
    environ = dict(os.environ)
    path = config_path(environ, Path(__file__).resolve().parents[3])
    try:
        sources = compose_sources(path, _installed_apps(environ))
    except ConfigError as error:
        print(f"rehearse: {error}", file=sys.stderr)
        sys.exit(2)
    for source in sources:
        print(source.line())


if __name__ == "__main__":
    main()
