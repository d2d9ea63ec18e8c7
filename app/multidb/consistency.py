"""Cross-field rules of a config: what each model alone cannot check (homes, history chains, shards, secrets)."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping

from .config import DatabaseConfig, ProjectConfig
from .errors import ConfigKeyError
from .node_config import check_nodes

# The import each engine's Django backend needs, and what to install for it.
DRIVERS: dict[str, tuple[str, str]] = {
    "postgresql": ("psycopg", "pip install 'psycopg[binary]'"),
    "mysql": ("MySQLdb", "pip install mysqlclient"),
    "oracle": ("oracledb", "pip install oracledb"),
}
# Values that stand for "fill me in" (compared lowercased), and the empty string.
PLACEHOLDER_SECRETS = {
    "",
    *"changeme change-me change_me password secret xxx todo placeholder example".split(),
    *"<from-yaml-config> <secret> <password>".split(),
}
# Examples and vault templates mark what to replace with CHANGE-ME: a value containing it was never replaced.
PLACEHOLDER_MARK = "change-me"
SECRET_KEY_MIN_LENGTH = 32  # as docs/configuration.md and the Ansible role's argument spec document
ALIAS_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


def check_consistency(
    config: ProjectConfig, app_labels: dict[str, str], from_env: Mapping[str, tuple[str, ...]] | None = None
) -> None:
    """Raise ConfigKeyError for the first cross-field mistake; `app_labels` maps every accepted
    spelling of an installed app (label and dotted name) to its label; `from_env` names the ${VAR}s
    each dotted key's value came from, so those values are described, never shown."""
    shown = _Shown(from_env or {})
    databases = config.databases
    if "default" not in databases:
        raise ConfigKeyError("databases", "has no 'default' alias", "add a 'default' database (Django requires it)")
    if not {"read", "write"} <= set(databases["default"].operations):
        raise ConfigKeyError(
            "databases.default.operations",
            "must include read and write",
            "default holds every unlisted app; give it read and write",
        )
    writers: dict[str, str] = {}
    for alias, db in databases.items():
        key = f"databases.{alias}"
        if not ALIAS_PATTERN.match(alias):
            raise ConfigKeyError(
                key,
                "alias must be lowercase letters, digits and _ starting with a letter",
                "rename it (it is also the Compose and Ansible name)",
            )
        _check_engine_fields(key, db, shown)
        if "write" in db.operations and "read" not in db.operations:
            raise ConfigKeyError(
                f"{key}.operations", "has write without read", "add read (writes imply reads of the same rows)"
            )
        if db.apps and not db.is_replica and "write" not in db.operations:
            raise ConfigKeyError(
                f"{key}.operations",
                "lists apps but neither writes them nor is a replica",
                "add write to make it their home, or use exactly [read] for a replica",
            )
        _check_apps(key, alias, db, app_labels, writers, shown)
        _check_migrate_to(key, alias, db, databases, shown)
        _check_password(config, key, db, shown)
    _check_shards(config, app_labels, writers, shown)
    _check_secret_key(config, shown)


class _Shown:
    """How a message names a configured value: quoted, or by the ${VAR}s it came from (never shown)."""

    def __init__(self, from_env: Mapping[str, tuple[str, ...]]) -> None:
        self.from_env = from_env

    def __call__(self, key: str, value: object) -> str:
        names = self.from_env.get(key)
        if names:
            return "the value from " + " and ".join(f"${{{name}}}" for name in names)
        return f"'{value}'"


def _check_apps(
    key: str, alias: str, db: DatabaseConfig, app_labels: dict[str, str], writers: dict[str, str], shown: _Shown
) -> None:
    for index, app in enumerate(db.apps):
        label = app_labels.get(app)
        if label is None:
            raise ConfigKeyError(
                f"{key}.apps[{index}]",
                f"{shown(f'{key}.apps[{index}]', app)} is not an installed app",
                "use an app label from INSTALLED_APPS (e.g. blog) or its dotted path (apps.blog)",
            )
        if "write" in db.operations:
            if label in writers and writers[label] != alias:
                raise ConfigKeyError(
                    f"{key}.apps[{index}]",
                    f"app {shown(f'{key}.apps[{index}]', label)} is also written by '{writers[label]}'",
                    "give each app one home: list it with write on one alias only",
                )
            writers[label] = alias


def _check_engine_fields(key: str, db: DatabaseConfig, shown: _Shown) -> None:
    short = db.short_engine
    engine = "the engine from the environment" if shown.from_env.get(f"{key}.engine") else short
    if short == "sqlite3":
        for field in ("host", "user", "port"):
            if getattr(db, field) not in ("", None):
                raise ConfigKeyError(
                    f"{key}.{field}", "is set for a SQLite database", "remove it (SQLite is a file: use name)"
                )
        return
    module, install = DRIVERS[short]
    if importlib.util.find_spec(module) is None:
        raise ConfigKeyError(
            f"{key}.engine",
            f"{engine} needs the Python driver '{module}', which is not installed",
            f"run {install}, or choose sqlite3 or postgresql",
        )
    if not db.host:
        raise ConfigKeyError(f"{key}.host", f"is required for {engine}", "set the database server's host name")
    if short == "postgresql":
        check_nodes(key, db, shown)
    if db.options.get("pool") and importlib.util.find_spec("psycopg_pool") is None:
        raise ConfigKeyError(
            f"{key}.options.pool",
            "needs psycopg_pool, which is not installed",
            "run pip install 'psycopg[pool]', or use conn_max_age for connection reuse",
        )


def _check_migrate_to(
    key: str, alias: str, db: DatabaseConfig, databases: dict[str, DatabaseConfig], shown: _Shown
) -> None:
    target = db.migrate_to
    if target is None or target == alias:
        return
    named = shown(f"{key}.migrate_to", target)
    if target not in databases:
        names = ", ".join(databases)
        raise ConfigKeyError(
            f"{key}.migrate_to",
            f"{named} is not a configured alias (configured: {names})",
            "name one of them, or remove migrate_to to record history in this database",
        )
    if db.is_replica:
        raise ConfigKeyError(
            f"{key}.migrate_to", "is set on a replica (operations [read]), which is never migrated", "remove migrate_to"
        )
    holder = databases[target]
    if "write" not in holder.operations:
        raise ConfigKeyError(
            f"{key}.migrate_to", f"{named} is read-only and cannot record history", "name an alias with write"
        )
    if holder.migrate_to not in (None, target):
        further = shown(f"databases.{target}.migrate_to", holder.migrate_to)
        raise ConfigKeyError(
            f"{key}.migrate_to",
            f"{named} itself records its history in {further}",
            f"point migrate_to at {further} directly",
        )


def _check_password(config: ProjectConfig, key: str, db: DatabaseConfig, shown: _Shown) -> None:
    if config.is_development or db.short_engine == "sqlite3":
        return
    secret = db.password.get_secret_value().strip()
    if is_placeholder(secret):
        raise ConfigKeyError(
            f"{key}.password",
            f"is empty or a placeholder in environment {shown('environment', config.environment)}",
            "set a real secret through ${VAR} or a VAR_FILE (placeholders only in local development)",
        )


def _check_secret_key(config: ProjectConfig, shown: _Shown) -> None:
    if config.is_development:
        return
    secret = config.secret_key.get_secret_value().strip() if config.secret_key else ""
    if len(secret) < SECRET_KEY_MIN_LENGTH or is_placeholder(secret):
        raise ConfigKeyError(
            "secret_key",
            f"is missing, a placeholder or shorter than {SECRET_KEY_MIN_LENGTH} characters in environment "
            + shown("environment", config.environment),
            "set it from ${DJANGO_SECRET_KEY} with a long random value",
        )


def is_placeholder(secret: str) -> bool:
    """An empty or example value: a known word, <angle brackets>, or anything containing CHANGE-ME."""
    lowered = secret.strip().lower()
    return (
        lowered in PLACEHOLDER_SECRETS
        or PLACEHOLDER_MARK in lowered
        or (lowered.startswith("<") and lowered.endswith(">"))
    )


def _check_shards(config: ProjectConfig, app_labels: dict[str, str], writers: dict[str, str], shown: _Shown) -> None:
    sharded: dict[str, str] = {}
    for group, shards in config.shards.items():
        key = f"shards.{group}"
        for index, alias in enumerate(shards.aliases):
            db = config.databases.get(alias)
            named = shown(f"{key}.aliases[{index}]", alias)
            if db is None:
                raise ConfigKeyError(
                    f"{key}.aliases[{index}]",
                    f"{named} is not a configured alias",
                    "add it under databases, or remove it from the shard group",
                )
            if db.is_replica or "write" not in db.operations:
                raise ConfigKeyError(
                    f"{key}.aliases[{index}]", f"{named} does not allow write", "give every shard read and write"
                )
            if "migrate" not in db.operations and not db.migrate_to:
                raise ConfigKeyError(
                    f"{key}.aliases[{index}]",
                    f"{named} is not migratable",
                    "add migrate (or migrate_to) so sharded apps get their tables there",
                )
        if len(set(shards.aliases)) != len(shards.aliases):
            raise ConfigKeyError(f"{key}.aliases", "lists an alias twice", "list each shard once (order matters)")
        for index, app in enumerate(shards.apps):
            label = app_labels.get(app)
            if label is None:
                raise ConfigKeyError(
                    f"{key}.apps[{index}]",
                    f"{shown(f'{key}.apps[{index}]', app)} is not an installed app",
                    "use an app label from INSTALLED_APPS",
                )
            other = writers.get(label) or sharded.get(label)
            if other:
                raise ConfigKeyError(
                    f"{key}.apps[{index}]",
                    f"app {shown(f'{key}.apps[{index}]', label)} also has a home in '{other}'",
                    "an app is either sharded or homed on one alias, not both",
                )
            sharded[label] = group
