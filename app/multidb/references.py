"""Cross-database references: rows whose related id does not exist in the alias the related model lives on."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from django.apps import apps
from django.db import DatabaseError, models

from .routing import RoutingTable
from .text import one_line

# Ids per query: below SQLite's historical limit of 999 bound parameters, and cheap on PostgreSQL.
BATCH = 900
SAMPLE = 5  # missing ids shown per relation


@dataclass(frozen=True)
class Relation:
    """A ForeignKey (or one-to-one) from a model on one alias to a model on another: no constraint can hold it."""

    model: type[models.Model]
    field: models.ForeignKey[Any, Any]
    sources: tuple[str, ...]  # the aliases holding the model's rows (several for a sharded app)
    targets: tuple[str, ...]  # the aliases holding the related model's rows

    @property
    def table(self) -> str:
        return str(self.model._meta.db_table)

    @property
    def target_table(self) -> str:
        return str(self.field.related_model._meta.db_table)  # type: ignore[union-attr]


@dataclass
class Dangling:
    """One relation on one source alias: rows whose referenced id is missing, and how many distinct ids."""

    table: str
    column: str
    alias: str
    target: str  # table@alias[,alias]
    rows: int = 0
    ids: int = 0
    sample: list[Any] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cross_relations(table: RoutingTable, aliases: Iterable[str] | None = None) -> list[Relation]:
    """Every concrete many-to-one relation whose two ends are homed on different aliases (from the routing table).

    `aliases` keeps only relations with a source or target among them.
    """
    wanted = set(aliases) if aliases is not None else None
    found = []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if not meta.managed or meta.proxy:
            continue
        sources = _homes(table, meta.app_label)
        for relation in meta.concrete_fields:
            if not relation.many_to_one and not relation.one_to_one:
                continue
            targets = _homes(table, relation.related_model._meta.app_label)  # type: ignore[union-attr]
            if set(sources) == set(targets):
                continue
            if wanted is not None and not wanted.intersection((*sources, *targets)):
                continue
            found.append(Relation(model, relation, sources, targets))  # type: ignore[arg-type]
    return sorted(found, key=lambda r: (r.table, r.field.column))


def count_dangling(relation: Relation, batch: int = BATCH) -> list[Dangling]:
    """For each source alias, the rows whose referenced id is in none of the target aliases."""
    results = []
    for alias in relation.sources:
        result = Dangling(
            relation.table,
            relation.field.column,
            alias,
            f"{relation.target_table}@{','.join(relation.targets)}",
        )
        try:
            missing = [value for ids in _distinct_ids(relation, alias, batch) for value in _absent(relation, ids)]
            result.ids = len(missing)
            result.sample = missing[:SAMPLE]
            result.rows = sum(
                _rows_with(relation, alias, missing[i : i + batch]) for i in range(0, len(missing), batch)
            )
        except DatabaseError as error:  # one unreachable alias or lost table is this line's result, not the end
            result.error = one_line(error)
        results.append(result)
    return results


def _homes(table: RoutingTable, app_label: str) -> tuple[str, ...]:
    route = table.route(app_label)
    return tuple(route.shard.aliases) if route.shard is not None else (route.home,)


def _distinct_ids(relation: Relation, alias: str, batch: int) -> Iterator[list[Any]]:
    """The referenced ids in use, ascending, a batch at a time (keyset paging: each query walks the FK index)."""
    attname = relation.field.attname
    rows = relation.model._base_manager.using(alias).exclude(**{f"{attname}__isnull": True})
    last = None
    while True:
        page = rows if last is None else rows.filter(**{f"{attname}__gt": last})
        ids = list(page.order_by(attname).values_list(attname, flat=True).distinct()[:batch])
        if not ids:
            return
        yield ids
        last = ids[-1]


def _absent(relation: Relation, ids: list[Any]) -> list[Any]:
    """The ids of `ids` found in none of the target aliases."""
    target = relation.field.target_field.attname
    related: Any = relation.field.related_model
    remaining = set(ids)
    for alias in relation.targets:
        if not remaining:
            break
        found = related._base_manager.using(alias).filter(**{f"{target}__in": remaining}).values_list(target, flat=True)
        remaining.difference_update(found)
    return sorted(remaining)


def _rows_with(relation: Relation, alias: str, ids: list[Any]) -> int:
    rows = relation.model._base_manager.using(alias).filter(**{f"{relation.field.attname}__in": ids})
    return int(rows.count())
