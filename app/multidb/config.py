"""The configuration models: the guide's DatabaseConfig fields plus the project around them."""

from __future__ import annotations

import importlib.util
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from .errors import ConfigKeyError

Operation = Literal["read", "write", "migrate"]
Environment = Literal["local", "development", "test", "staging", "production"]

# Short engine names the guide's users write, mapped to Django's dotted paths.
ENGINES: dict[str, str] = {
    "sqlite3": "django.db.backends.sqlite3",
    "postgresql": "django.db.backends.postgresql",
    "mysql": "django.db.backends.mysql",
    "oracle": "django.db.backends.oracle",
}
ENGINE_ALIASES = {"sqlite": "sqlite3", "postgres": "postgresql", "postgis": "postgresql"}
DEFAULT_PORTS: dict[str, int | None] = {"sqlite3": None, "postgresql": 5432, "mysql": 3306, "oracle": 1521}
# The import each engine's Django backend needs, and what to install for it.
DRIVERS: dict[str, tuple[str, str]] = {
    "postgresql": ("psycopg", "pip install 'psycopg[binary]'"),
    "mysql": ("MySQLdb", "pip install mysqlclient"),
    "oracle": ("oracledb", "pip install oracledb"),
}
PLACEHOLDER_SECRETS = {
    "",
    "changeme",
    "change-me",
    "change_me",
    "password",
    "secret",
    "xxx",
    "todo",
    "placeholder",
    "example",
    "<from-yaml-config>",
    "<secret>",
    "<password>",
}
ALIAS_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Strict):
    """One database alias, in the guide's vocabulary."""

    engine: str = "django.db.backends.sqlite3"
    name: str
    user: str = ""
    password: SecretStr = SecretStr("")
    host: str = ""
    port: int | None = Field(default=None, ge=1, le=65535)
    options: dict[str, Any] = Field(default_factory=dict)
    apps: tuple[str, ...] = ()
    operations: tuple[Operation, ...] = ("read", "write", "migrate")
    migrate_to: str | None = None
    # Connection reuse: seconds to keep a connection (0 = per request, None = forever).
    conn_max_age: int | None = Field(default=0, ge=0)
    conn_health_checks: bool = False

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        short = engine_short_name(value)
        if short is None:
            known = ", ".join(sorted(ENGINES))
            raise ValueError(f"unknown engine (known: {known}, or their django.db.backends.* paths)")
        return ENGINES[short]

    @field_validator("operations")
    @classmethod
    def _operations_not_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must list at least one of read, write, migrate")
        if len(set(value)) != len(value):
            raise ValueError("lists an operation twice")
        return value

    @field_validator("name")
    @classmethod
    def _name_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @property
    def short_engine(self) -> str:
        return engine_short_name(self.engine) or "sqlite3"

    @property
    def is_replica(self) -> bool:
        """Operations exactly [read]: a read-only copy of the apps it lists."""
        return set(self.operations) == {"read"}

    @property
    def effective_port(self) -> int | None:
        return self.port if self.port is not None else DEFAULT_PORTS[self.short_engine]

    def __repr__(self) -> str:
        # Never show the password, even masked ones are reprs of SecretStr.
        return f"DatabaseConfig(engine={self.engine!r}, name={self.name!r}, host={self.host!r}, apps={self.apps!r})"


class RoutingOptions(_Strict):
    """Project-wide routing switches."""

    # The guide relies on db_constraint=False relations between homes; allowed unless turned off.
    cross_database_relations: bool = True
    # After a client writes to a home, its reads stay on the home this long (a cookie), not on replicas.
    read_your_writes_seconds: float = Field(default=5.0, ge=0, le=3600)
    # A replica that fails to connect is skipped this long, reads going to its home meanwhile.
    replica_cooldown_seconds: float = Field(default=30.0, ge=0, le=3600)
    # A replica lagging more than this is degraded: reads avoid it; the app stays ready.
    replica_max_lag_seconds: float = Field(default=10.0, gt=0, le=86400)
    # How often each process re-measures a replica's lag (one small query).
    replica_check_seconds: float = Field(default=5.0, gt=0, le=3600)


class ShardGroupConfig(_Strict):
    """Apps whose rows are spread over several aliases by a key (the guide's "Sharding by User")."""

    aliases: tuple[str, ...] = Field(min_length=1)
    apps: tuple[str, ...] = Field(min_length=1)
    key: str  # the model field holding the shard key, e.g. author_id
    strategy: Literal["modulo", "jump"] = "jump"


class HealthOptions(_Strict):
    """Readiness probe settings."""

    timeout: float = Field(default=2.0, gt=0, le=60)


class ProjectConfig(_Strict):
    """A whole environment: the databases and the few settings around them."""

    environment: Environment = "local"
    secret_key: SecretStr | None = None
    debug: bool = False
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    time_zone: str = "UTC"
    databases: dict[str, DatabaseConfig]
    routing: RoutingOptions = RoutingOptions()
    health: HealthOptions = HealthOptions()
    shards: dict[str, ShardGroupConfig] = Field(default_factory=dict)

    @property
    def is_development(self) -> bool:
        """Local development: migration files may be generated, placeholder secrets tolerated."""
        return self.environment in ("local", "development")


def engine_short_name(engine: str) -> str | None:
    """`postgresql` for `django.db.backends.postgresql`, `postgres` or `postgresql`; None if unknown."""
    short = engine.removeprefix("django.db.backends.")
    if engine.startswith("django.db.backends.") and short not in ENGINES:
        return None
    short = ENGINE_ALIASES.get(short, short)
    return short if short in ENGINES else None


def check_consistency(config: ProjectConfig, app_labels: dict[str, str]) -> None:
    """Raise ConfigKeyError for the first cross-field mistake; `app_labels` maps every accepted
    spelling of an installed app (label and dotted name) to its label."""
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
        _check_engine_fields(key, db)
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
        for index, app in enumerate(db.apps):
            label = app_labels.get(app)
            if label is None:
                raise ConfigKeyError(
                    f"{key}.apps[{index}]",
                    f"'{app}' is not an installed app",
                    "use an app label from INSTALLED_APPS (e.g. blog) or its dotted path (apps.blog)",
                )
            if "write" in db.operations:
                if label in writers and writers[label] != alias:
                    raise ConfigKeyError(
                        f"{key}.apps[{index}]",
                        f"app '{label}' is also written by '{writers[label]}'",
                        "give each app one home: list it with write on one alias only",
                    )
                writers[label] = alias
        _check_migrate_to(key, alias, db, databases)
        _check_password(config, key, db)
    _check_shards(config, app_labels, writers)
    _check_secret_key(config)


def _check_engine_fields(key: str, db: DatabaseConfig) -> None:
    short = db.short_engine
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
            f"{short} needs the Python driver '{module}', which is not installed",
            f"run {install}, or choose sqlite3 or postgresql",
        )
    if not db.host:
        raise ConfigKeyError(f"{key}.host", f"is required for {short}", "set the database server's host name")
    if db.options.get("pool") and importlib.util.find_spec("psycopg_pool") is None:
        raise ConfigKeyError(
            f"{key}.options.pool",
            "needs psycopg_pool, which is not installed",
            "run pip install 'psycopg[pool]', or use conn_max_age for connection reuse",
        )


def _check_migrate_to(key: str, alias: str, db: DatabaseConfig, databases: dict[str, DatabaseConfig]) -> None:
    target = db.migrate_to
    if target is None or target == alias:
        return
    if target not in databases:
        names = ", ".join(databases)
        raise ConfigKeyError(
            f"{key}.migrate_to",
            f"'{target}' is not a configured alias (configured: {names})",
            "name one of them, or remove migrate_to to record history in this database",
        )
    if db.is_replica:
        raise ConfigKeyError(
            f"{key}.migrate_to", "is set on a replica (operations [read]), which is never migrated", "remove migrate_to"
        )
    holder = databases[target]
    if "write" not in holder.operations:
        raise ConfigKeyError(
            f"{key}.migrate_to", f"'{target}' is read-only and cannot record history", "name an alias with write"
        )
    if holder.migrate_to not in (None, target):
        raise ConfigKeyError(
            f"{key}.migrate_to",
            f"'{target}' itself records its history in '{holder.migrate_to}'",
            f"point migrate_to at '{holder.migrate_to}' directly",
        )


def _check_password(config: ProjectConfig, key: str, db: DatabaseConfig) -> None:
    if config.is_development or db.short_engine == "sqlite3":
        return
    secret = db.password.get_secret_value().strip()
    if secret.lower() in PLACEHOLDER_SECRETS or (secret.startswith("<") and secret.endswith(">")):
        raise ConfigKeyError(
            f"{key}.password",
            f"is empty or a placeholder in environment '{config.environment}'",
            "set a real secret through ${VAR} or a VAR_FILE (placeholders only in local development)",
        )


def _check_secret_key(config: ProjectConfig) -> None:
    if config.is_development:
        return
    secret = config.secret_key.get_secret_value().strip() if config.secret_key else ""
    if len(secret) < 32 or secret.lower() in PLACEHOLDER_SECRETS:
        raise ConfigKeyError(
            "secret_key",
            f"is missing, a placeholder or shorter than 32 characters in environment '{config.environment}'",
            "set it from ${DJANGO_SECRET_KEY} with a long random value",
        )


def _check_shards(config: ProjectConfig, app_labels: dict[str, str], writers: dict[str, str]) -> None:
    sharded: dict[str, str] = {}
    for group, shards in config.shards.items():
        key = f"shards.{group}"
        for index, alias in enumerate(shards.aliases):
            db = config.databases.get(alias)
            if db is None:
                raise ConfigKeyError(
                    f"{key}.aliases[{index}]",
                    f"'{alias}' is not a configured alias",
                    "add it under databases, or remove it from the shard group",
                )
            if db.is_replica or "write" not in db.operations:
                raise ConfigKeyError(
                    f"{key}.aliases[{index}]", f"'{alias}' does not allow write", "give every shard read and write"
                )
            if "migrate" not in db.operations and not db.migrate_to:
                raise ConfigKeyError(
                    f"{key}.aliases[{index}]",
                    f"'{alias}' is not migratable",
                    "add migrate (or migrate_to) so sharded apps get their tables there",
                )
        if len(set(shards.aliases)) != len(shards.aliases):
            raise ConfigKeyError(f"{key}.aliases", "lists an alias twice", "list each shard once (order matters)")
        for index, app in enumerate(shards.apps):
            label = app_labels.get(app)
            if label is None:
                raise ConfigKeyError(
                    f"{key}.apps[{index}]", f"'{app}' is not an installed app", "use an app label from INSTALLED_APPS"
                )
            other = writers.get(label) or sharded.get(label)
            if other:
                raise ConfigKeyError(
                    f"{key}.apps[{index}]",
                    f"app '{label}' also has a home in '{other}'",
                    "an app is either sharded or homed on one alias, not both",
                )
            sharded[label] = group
