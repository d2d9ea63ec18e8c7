"""The database router: dictionary lookups in the routing table built from config."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from .replicas import ReplicaPool, pin
from .routing import current_table
from .sharding import place


class ConfigRouter:
    """Routes each model by its app label; see the routing rules in README.md.

    Like every Django router it answers None where the config has no say, so a router listed
    after it decides those: models of app labels the table does not know (not installed when
    the settings built it) and aliases the config does not define. Apps the config leaves
    unlisted are still decided: they live on default.
    """

    def __init__(self) -> None:
        table = current_table()
        options = table.options
        self._table = table
        # Flattened per-method dicts: one .get() per decision for apps without replicas or shards.
        self._homes = {label: route.home for label, route in table.routes.items() if route.shard is None}
        self._read_homes = {label: home for label, home in self._homes.items() if not table.routes[label].replicas}
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
        self._aliases = frozenset(table.aliases)
        # A replica holds its home's rows, so objects read from it count as read from the home.
        self._replica_homes = {
            (label, replica): route.home for label, route in table.routes.items() for replica in route.replicas
        }

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        label = model._meta.app_label
        home = self._read_homes.get(label)
        if home is not None:
            return home
        pool = self._pools.get(label)
        if pool is not None:
            return pool.pick()
        group = self._shards.get(label)
        return None if group is None else place(group, model, hints, reading=True)

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        label = model._meta.app_label
        group = self._shards.get(label)
        if group is not None:
            return place(group, model, hints, reading=False)
        home = self._homes.get(label)
        if home in self._replicated_homes:
            pin(home)  # read-your-writes: later reads of any app homed here skip its replicas
        return home

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        db1, db2 = obj1._state.db, obj2._state.db
        if db1 is None or db2 is None or db1 == db2:
            return True
        if db1 not in self._aliases or db2 not in self._aliases:
            return None
        if self._source(obj1, db1) == self._source(obj2, db2):
            return True  # home and replica, or two replicas of one home: the same rows
        return self._table.cross_database_relations

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        if db not in self._aliases:
            return None
        return db in self._migrate.get(app_label, self._migrate_fallback)

    def _source(self, obj: Model, db: str) -> str:
        """The alias whose rows `obj` was read from: its home when `db` is one of the home's replicas."""
        return self._replica_homes.get((obj._meta.app_label, db), db)
