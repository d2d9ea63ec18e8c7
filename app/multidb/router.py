"""The database router: dictionary lookups in the routing table built from config."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from .replicas import ReplicaPool, pin
from .routing import current_table
from .sharding import ShardGroup, ShardKeyMissingError


class ConfigRouter:
    """Routes each model by its app label; see the routing rules in README.md."""

    def __init__(self) -> None:
        table = current_table()
        options = table.options
        self._table = table
        # Flattened per-method dicts: one .get() per decision for apps without replicas or shards.
        self._homes = {label: route.home for label, route in table.routes.items() if route.shard is None}
        self._read_homes = {label: home for label, home in self._homes.items() if not table.routes[label].replicas}
        self._home_fallback = table.fallback.home
        pools: dict[tuple[str, tuple[str, ...]], ReplicaPool] = {}
        self._pools = {
            label: pools.setdefault(
                (route.home, route.replicas),
                ReplicaPool(
                    route.home,
                    route.replicas,
                    options.replica_cooldown_seconds,
                    options.replica_max_lag_seconds,
                    options.replica_check_seconds,
                ),
            )
            for label, route in table.routes.items()
            if route.replicas and route.shard is None
        }
        self._replicated_homes = frozenset(pool.home for pool in self._pools.values())
        self._shards = {label: route.shard for label, route in table.routes.items() if route.shard is not None}
        self._migrate = {label: route.migrate_on for label, route in table.routes.items()}
        self._migrate_fallback = table.fallback.migrate_on
        # A replica holds its home's rows, so objects on the two may be related.
        self._same_data = {
            frozenset((route.home, replica)) for route in table.routes.values() for replica in route.replicas
        }

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        label = model._meta.app_label
        home = self._read_homes.get(label)
        if home is not None:
            return home
        pool = self._pools.get(label)
        if pool is not None:
            return pool.pick()
        group = self._shards.get(label)
        return self._home_fallback if group is None else _shard(group, model, hints)

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        label = model._meta.app_label
        group = self._shards.get(label)
        home = self._homes.get(label, self._home_fallback) if group is None else _shard(group, model, hints)
        if home in self._replicated_homes:
            pin(home)  # read-your-writes: later reads of any app homed here skip its replicas
        return home

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        db1, db2 = obj1._state.db, obj2._state.db
        if db1 is None or db2 is None or db1 == db2 or frozenset((db1, db2)) in self._same_data:
            return True
        return self._table.cross_database_relations

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db in self._migrate.get(app_label, self._migrate_fallback)


def _shard(group: ShardGroup, model: type[Model], hints: dict[str, Any]) -> str:
    """The shard named by the instance (or a `shard_key` hint); refuse rather than guess."""
    if "shard_key" in hints:
        return group.alias_for(hints["shard_key"])
    instance = hints.get("instance")
    if instance is not None:
        if isinstance(instance, model):
            return group.alias_for(getattr(instance, group.key, None))
        if instance._state.db in group.aliases:  # a related object already loaded from a shard
            db: str = instance._state.db
            return db
        # A related manager of the key's target, e.g. user.blog_posts with key author_id: the key is its pk.
        field = _key_field(model, group.key)
        if field is not None and isinstance(instance, field.related_model):
            return group.alias_for(instance.pk)
    raise ShardKeyMissingError(
        f"{model._meta.label} is sharded by {group.key} over {', '.join(group.aliases)} (shard group "
        f"'{group.name}'), and this query carries no key: use .using(shard_for({model.__name__}, key)), "
        f"save an instance ({model.__name__}(...).save()), or go through a related manager"
    )


def _key_field(model: type[Model], key: str) -> Any:
    for field in model._meta.concrete_fields:
        if key in (field.name, field.attname) and field.is_relation:
            return field
    return None
