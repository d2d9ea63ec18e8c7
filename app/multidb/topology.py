"""A config's topology without its secrets: validate it with placeholders and say which variable feeds each field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import DatabaseConfig, ProjectConfig
from .errors import ConfigError
from .loader import load_config

# What a required ${VAR} expands to here: long enough for secret_key, never a placeholder the loader refuses.
_PLACEHOLDER_SUFFIX = "-placeholder-for-validation-only"
# Each round of load_topology resolves one variable or app; a config names far fewer.
_MAX_ROUNDS = 200


@dataclass(frozen=True)
class Topology:
    """A validated config whose required ${VAR}s hold placeholders; `${VAR:-default}` keeps its default."""

    source: Path
    config: ProjectConfig
    required: frozenset[str]  # the variables the environment must set (or point VAR_FILE at)

    @property
    def databases(self) -> dict[str, DatabaseConfig]:
        return dict(self.config.databases)

    def variable(self, alias: str, field: str) -> str | None:
        """The required variable that `databases.<alias>.<field>` is exactly, e.g. BLOG_DB_PASSWORD; else None."""
        db = self.config.databases[alias]
        value = db.password.get_secret_value() if field == "password" else str(getattr(db, field))
        return variable_of(value)

    def export(self) -> dict[str, dict[str, Any]]:
        """Alias -> what a deployment needs of it, secrets excluded; a required ${VAR} shows as "${VAR}".

        `timeouts` (milliseconds, defaults filled in) is what the Compose init and the Ansible role set on
        the runtime role (statement, idle_in_transaction); migrate_all reads the migration_lock ones itself.
        """
        return {alias: self._entry(alias, db) for alias, db in self.config.databases.items()}

    def _entry(self, alias: str, db: DatabaseConfig) -> dict[str, Any]:
        def shown(field: str) -> Any:
            variable = self.variable(alias, field)
            return f"${{{variable}}}" if variable else getattr(db, field)

        return {
            "engine": db.short_engine,
            "name": shown("name"),
            "host": shown("host"),
            "port": db.effective_port,
            "apps": list(db.apps),
            "operations": list(db.operations),
            "migrate_to": db.migrate_to,
            "replica": db.is_replica,
            "timeouts": db.timeouts.model_dump(),
        }

    def credential_variables(self, alias: str) -> tuple[str, str]:
        """The variables holding the alias's user and password (e.g. BLOG_DB_USER, BLOG_DB_PASSWORD): the
        Compose file and the rehearsal both name secrets after them, so each must be a plain ${VAR}."""
        user, password = self.variable(alias, "user"), self.variable(alias, "password")
        if user is None or password is None or not password.endswith("_PASSWORD"):
            raise ConfigError(
                str(self.source),
                f"databases.{alias}",
                "user and password must be ${VAR}s without default, the password's ending in _PASSWORD",
                "write user: ${<PREFIX>_USER} and password: ${<PREFIX>_PASSWORD}",
            )
        return user, password


def load_topology(path: Path, installed_apps: Iterable[str] | None = None) -> Topology:
    """Load `path` as the app would, with a placeholder for every required ${VAR}; ConfigError if it is broken.

    `installed_apps` None accepts every app the config names (the app checks them itself when it starts).
    """
    required: set[str] = set()
    apps = list(installed_apps or ())
    for _ in range(_MAX_ROUNDS):
        environ = _Placeholders(required)
        try:
            config = load_config(path, apps, environ)
        except ConfigError as error:
            # The loader asks for VAR, then VAR_FILE, then fails naming ${VAR}: give VAR a placeholder and retry.
            missing = environ.unresolved()
            if missing is not None and missing not in required and f"${{{missing}}}" in str(error):
                required.add(missing)
                continue
            app = _unknown_app(error)
            if installed_apps is None and app is not None and app not in apps:
                apps.append(app)
                continue
            raise
        return Topology(path, config, frozenset(required))
    raise ConfigError(str(path), "", "names too many variables and apps", f"keep them under {_MAX_ROUNDS}")


def placeholder(name: str) -> str:
    """The value a required ${name} gets in a Topology."""
    return f"{name}{_PLACEHOLDER_SUFFIX}"


def variable_of(value: str) -> str | None:
    """The variable whose placeholder `value` is, or None for a literal value or a default."""
    return value.removesuffix(_PLACEHOLDER_SUFFIX) if value.endswith(_PLACEHOLDER_SUFFIX) else None


def _unknown_app(error: ConfigError) -> str | None:
    """The app in the loader's "'<app>' is not an installed app", else None."""
    match = re.fullmatch(r"'(.+)' is not an installed app", error.problem)
    return match.group(1) if match else None


class _Placeholders(Mapping[str, str]):
    """An environment holding a placeholder for each `required` name and nothing else; remembers what was asked."""

    def __init__(self, required: set[str]) -> None:
        self._required = required
        self._asked: list[str] = []

    def __getitem__(self, name: str) -> str:
        self._asked.append(name)
        if name in self._required:
            return placeholder(name)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._required))

    def __len__(self) -> int:
        return len(self._required)

    def unresolved(self) -> str | None:
        """The last variable asked for, if the loader then asked for its _FILE: the one it failed on."""
        if len(self._asked) >= 2 and self._asked[-1] == f"{self._asked[-2]}_FILE":
            return self._asked[-2]
        return None
