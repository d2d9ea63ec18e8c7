"""The routing table: every app's read, write, migrate and history alias, computed once from config."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings

from .config import ProjectConfig, RoutingOptions
from .edge_config import TimeoutOptions
from .loader import app_labels
from .shard_keys import ShardGroup

DEFAULT = "default"


@dataclass(frozen=True)
class Route:
    """Where one app's rows and schema live."""

    home: str  # writes, and reads unless replicas serve them (a sharded app: its first shard, for display)
    replicas: tuple[str, ...]  # read-only aliases listing the app
    migrate: str | None  # the alias its schema is applied to; None = never migrated (sharded: see shard)
    history: str | None  # the alias whose table records its migrations
    shard: ShardGroup | None = None  # set when the app's rows are spread over a shard group

    @property
    def migrate_on(self) -> frozenset[str]:
        """Every alias that gets this app's schema."""
        if self.shard is not None:
            return frozenset(self.shard.aliases)
        return frozenset((self.migrate,)) if self.migrate else frozenset()


@dataclass(frozen=True)
class RoutingTable:
    """Plain lookups for the router, the checks and the commands; nothing here reads config again."""

    routes: dict[str, Route]  # app label -> route, for every installed app
    fallback: Route  # for labels not installed when the table was built (Django's internal models)
    aliases: tuple[str, ...]  # every configured alias, default first
    migratable: dict[str, str]  # migratable alias -> alias holding its history
    replicas: frozenset[str]
    options: RoutingOptions
    timeouts: dict[str, TimeoutOptions] = field(default_factory=dict)  # alias -> its timeouts (migrate_all's)

    @property
    def cross_database_relations(self) -> bool:
        return self.options.cross_database_relations

    def route(self, app_label: str) -> Route:
        return self.routes.get(app_label, self.fallback)

    def apps_migrated_on(self, alias: str) -> tuple[str, ...]:
        return tuple(label for label, route in self.routes.items() if alias in route.migrate_on)


def current_table() -> RoutingTable:
    """The table the settings module built at start (settings.MULTIDB_ROUTING); nothing else reads it."""
    table: RoutingTable = settings.MULTIDB_ROUTING
    return table


def build_routing_table(config: ProjectConfig, installed_apps: Iterable[str]) -> RoutingTable:
    """Apply the routing rules (README.md, "Routing rules") to a validated config."""
    databases = config.databases
    labels = app_labels(installed_apps)
    migratable = {
        alias: db.migrate_to or alias
        for alias, db in databases.items()
        if not db.is_replica and ("migrate" in db.operations or db.migrate_to)
    }
    homes: dict[str, str] = {}
    replicas: dict[str, list[str]] = {}
    for alias, db in databases.items():
        for app in db.apps:
            label = labels[app]
            if db.is_replica:
                replicas.setdefault(label, []).append(alias)
            elif "write" in db.operations:
                homes[label] = alias
    groups = {
        name: ShardGroup(name, group.aliases, group.key, group.strategy, tuple(labels[app] for app in group.apps))
        for name, group in config.shards.items()
    }
    shards = {label: group for group in groups.values() for label in group.labels}

    def route_for(label: str) -> Route:
        if label in shards:
            group = shards[label]
            return Route(group.aliases[0], (), None, None, group)
        home = homes.get(label, DEFAULT)
        migrate = home if home in migratable else None
        return Route(home, tuple(replicas.get(label, ())), migrate, migratable.get(home) if migrate else None)

    ordered = sorted(databases, key=lambda alias: alias != DEFAULT)
    return RoutingTable(
        routes={label: route_for(label) for label in set(labels.values())},
        fallback=route_for("\0unlisted"),
        aliases=tuple(ordered),
        migratable={alias: migratable[alias] for alias in ordered if alias in migratable},
        replicas=frozenset(alias for alias, db in databases.items() if db.is_replica),
        options=config.routing,
        timeouts={alias: db.timeouts for alias, db in databases.items()},
    )
