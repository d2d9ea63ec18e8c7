"""A config file pointing the app at one database per alias, with direct psycopg access to each database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from tests.integration.appserver import Result, manage
from tests.integration.postgres import ServiceRoles, Target, tables


@dataclass
class Stack:
    """A config file pointing the app at one database per alias, and direct psycopg access to each."""

    config: Path
    targets: dict[str, Target]

    def connect(self, alias: str) -> psycopg.Connection[Any]:
        """A psycopg connection to the alias's database itself, as the role the config names."""
        return self.targets[alias].connect()

    def rows(self, alias: str, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.connect(alias) as connection:
            return connection.execute(statement, params).fetchall()  # type: ignore[arg-type]

    def tables(self, alias: str) -> set[str]:
        return tables(self.targets[alias])

    def manage(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        return manage(*args, config=self.config, env=env, timeout=timeout)


@dataclass
class LeastPrivilege:
    """The stack's role layout: migrate_all runs with the owner roles, the app with the runtime roles."""

    roles: dict[str, ServiceRoles]  # alias -> its database's two roles
    owner: Stack
    runtime: Stack
    first_migrate_output: str = ""  # what the owners' first migrate_all printed
