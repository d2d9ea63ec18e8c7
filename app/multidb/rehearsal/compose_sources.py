"""The Compose stack's databases as rehearsal sources: per alias, its service and the variables that point at it."""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..config import DatabaseConfig
from ..errors import ConfigError
from ..loader import config_path, load_config
from ..routing import build_routing_table

# config/compose.yaml takes each database's host, user and password from ${VAR} references (a host defaults to
# its Compose service), so on the host, outside the stack, it cannot be loaded as it is. It is loaded here with
# every variable replaced by a stand-in that names it (long enough for the secret checks, never used as a value),
# whatever the environment holds: then each key shows which variable sets it.
_STAND_IN = "${%s}" + "-stand-in" * 4
_NAMED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}(?:-stand-in)+")


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
    history), each with the variables its host, user and password come from and its host's default."""
    named = load_config(path, installed_apps, _StandIns())
    table = build_routing_table(named, installed_apps)
    cloned = [alias for alias in table.aliases if alias in table.migratable or alias in table.migratable.values()]
    variables = {alias: _variables(str(path), alias, named.databases[alias]) for alias in cloned}
    # Again with the host variables unset, so each host is its reference's default: the Compose service.
    hosts = {host for host, _, _ in variables.values()}
    defaults = load_config(path, installed_apps, _StandIns(unset=hosts))
    return [ComposeSource(alias, defaults.databases[alias].host, *variables[alias]) for alias in cloned]


def _variables(source: str, alias: str, database: DatabaseConfig) -> tuple[str, str, str]:
    found = []
    values = {"host": database.host, "user": database.user, "password": database.password.get_secret_value()}
    for key, value in values.items():
        match = _NAMED.fullmatch(value)
        if match is None:
            raise ConfigError(
                source,
                f"databases.{alias}.{key}",
                "is not set from one ${VAR} reference, so the rehearsal cannot point it at the stack",
                f"write it as ${{{alias.upper()}_{key.upper()}}} (a host as ${{VAR:-service}})",
            )
        found.append(match.group(1))
    return found[0], found[1], found[2]


class _StandIns(Mapping[str, str]):
    """An environment in which every variable but those in `unset` (and *_FILE) reads as its stand-in."""

    def __init__(self, unset: set[str] | None = None) -> None:
        self._unset = unset or set()

    def __getitem__(self, name: str) -> str:
        if name in self._unset or name.endswith("_FILE"):
            raise KeyError(name)
        return _STAND_IN % name

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


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
        print(f"rehearse: {error} (read with each ${{VAR}} standing for itself)", file=sys.stderr)
        sys.exit(2)
    for source in sources:
        print(source.line())


if __name__ == "__main__":
    main()
