"""The database router: dictionary lookups in the routing table built from config."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Model

from .routing import RoutingTable


class ConfigRouter:
    """Routes each model by its app label; see the routing rules in README.md.

    Reads currently go to the app's home; replicas listed in config are
    recorded in the table but not yet read from (read-your-writes first).
    """

    def __init__(self) -> None:
        table: RoutingTable = settings.MULTIDB_ROUTING
        self._table = table
        # Flattened per-method dicts: one .get() per routing decision.
        self._homes = {label: route.home for label, route in table.routes.items()}
        self._home_fallback = table.fallback.home
        self._migrate = {label: route.migrate for label, route in table.routes.items()}
        self._migrate_fallback = table.fallback.migrate
        # A replica holds its home's rows, so objects on the two may be related.
        self._same_data = {
            frozenset((route.home, replica)) for route in table.routes.values() for replica in route.replicas
        }

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return self._homes.get(model._meta.app_label, self._home_fallback)

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return self._homes.get(model._meta.app_label, self._home_fallback)

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        db1, db2 = obj1._state.db, obj2._state.db
        if db1 is None or db2 is None or db1 == db2 or frozenset((db1, db2)) in self._same_data:
            return True
        return self._table.cross_database_relations

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == self._migrate.get(app_label, self._migrate_fallback)
