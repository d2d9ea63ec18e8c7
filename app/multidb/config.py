"""The configuration schema: frozen pydantic models in django-cfg's vocabulary (cross-field rules: consistency.py)."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from .config_types import Flag, Number, StrictModel, WholeNumber
from .edge_config import SecurityOptions, TimeoutOptions

Operation = Literal["read", "write", "migrate"]
Environment = Literal["local", "development", "test", "staging", "production"]

# Short engine names django-cfg's users write, mapped to Django's dotted paths.
ENGINES: dict[str, str] = {
    "sqlite3": "django.db.backends.sqlite3",
    "postgresql": "django.db.backends.postgresql",
    "mysql": "django.db.backends.mysql",
    "oracle": "django.db.backends.oracle",
}
ENGINE_ALIASES = {"sqlite": "sqlite3", "postgres": "postgresql", "postgis": "postgresql"}
DEFAULT_PORTS: dict[str, int | None] = {"sqlite3": None, "postgresql": 5432, "mysql": 3306, "oracle": 1521}


class DatabaseConfig(StrictModel):
    """One database alias, in django-cfg's DatabaseConfig vocabulary."""

    engine: str = "django.db.backends.sqlite3"
    name: str
    user: str = ""
    password: SecretStr = SecretStr("")
    host: str = ""
    port: WholeNumber | None = Field(default=None, ge=1, le=65535)
    options: dict[str, Any] = Field(default_factory=dict)
    apps: tuple[str, ...] = ()
    operations: tuple[Operation, ...] = ("read", "write", "migrate")
    migrate_to: str | None = None
    # Connection reuse: seconds to keep a connection (0 = per request, None = forever).
    conn_max_age: WholeNumber | None = Field(default=0, ge=0)
    conn_health_checks: Flag = False
    timeouts: TimeoutOptions = TimeoutOptions()

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


class RoutingOptions(StrictModel):
    """Project-wide routing switches."""

    # django-cfg's guide relies on db_constraint=False relations between homes; allowed unless turned off.
    cross_database_relations: Flag = True
    # After a client writes to a home, its reads stay on the home this long (a cookie), not on replicas.
    read_your_writes_seconds: Number = Field(default=5.0, ge=0, le=3600)
    # A replica that fails to connect is skipped this long, reads going to its home meanwhile.
    replica_cooldown_seconds: Number = Field(default=30.0, ge=0, le=3600)
    # A replica lagging more than this is degraded: reads avoid it; the app stays ready.
    replica_max_lag_seconds: Number = Field(default=10.0, gt=0, le=86400)
    # How often each process re-measures a replica's lag (one small query).
    replica_check_seconds: Number = Field(default=5.0, gt=0, le=3600)


class ShardGroupConfig(StrictModel):
    """Apps whose rows are spread over several aliases by a key (django-cfg's "Sharding by User" example)."""

    aliases: tuple[str, ...] = Field(min_length=1)
    apps: tuple[str, ...] = Field(min_length=1)
    key: str  # the model field holding the shard key, e.g. author_id
    strategy: Literal["modulo", "jump"] = "jump"


class HealthOptions(StrictModel):
    """Readiness probe settings."""

    timeout: Number = Field(default=2.0, gt=0, le=60)


class ProjectConfig(StrictModel):
    """A whole environment: the databases and the few settings around them."""

    environment: Environment = "local"
    secret_key: SecretStr | None = None
    debug: Flag = False
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    time_zone: str = "UTC"
    databases: dict[str, DatabaseConfig]
    routing: RoutingOptions = RoutingOptions()
    health: HealthOptions = HealthOptions()
    shards: dict[str, ShardGroupConfig] = Field(default_factory=dict)
    security: SecurityOptions = SecurityOptions()  # see effective_security for the defaults
    status_page: Literal["public", "staff"] | None = None  # None: public in local/development, else staff

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        # Django refuses an unknown zone only at startup, with a traceback that prints it.
        if value != "UTC" and value not in _time_zones():
            raise ValueError("is not a known time zone; use an IANA name such as UTC or Europe/Paris")
        return value

    @property
    def is_development(self) -> bool:
        """Local development: migration files may be generated, placeholder secrets tolerated."""
        return self.environment in ("local", "development")

    @property
    def effective_security(self) -> SecurityOptions:
        """The security block with its defaults: strict in staging and production, off elsewhere."""
        return self.security.resolved(strict=self.environment in ("staging", "production"))


def engine_short_name(engine: str) -> str | None:
    """`postgresql` for `django.db.backends.postgresql`, `postgres` or `postgresql`; None if unknown."""
    short = engine.removeprefix("django.db.backends.")
    if engine.startswith("django.db.backends.") and short not in ENGINES:
        return None
    short = ENGINE_ALIASES.get(short, short)
    return short if short in ENGINES else None


@cache
def _time_zones() -> frozenset[str]:
    """The IANA names this machine knows (system zoneinfo or the tzdata package)."""
    return frozenset(zoneinfo.available_timezones())
