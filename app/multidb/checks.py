"""System checks: cross-database relations with real constraints, and config/app-registry mismatches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import AppConfig, apps
from django.core.checks import CheckMessage, Error, Tags, register
from django.db import models

from .routing import RoutingTable, current_table


@register(Tags.models)
def check_cross_database_relations(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """multidb.E001: a relation between models homed on different aliases needs db_constraint=False.

    Without it the migration on the model's database fails ("relation auth_user
    does not exist") — django-cfg's multi-database guide warns about it, caught before migrating.
    multidb.E002: such a relation while routing.cross_database_relations is false.
    multidb.E004: such a ForeignKey with an on_delete other than DO_NOTHING: Django's deletion
    collector looks for the dependent rows in the deleted object's database, so deleting
    the target (e.g. a user) fails with "no such table".
    """
    table = current_table()
    errors: list[CheckMessage] = []
    for model in _models(app_configs):
        home = table.route(model._meta.app_label).home
        for field, constrained in _relations(model):
            target = field.related_model
            if target is None or isinstance(target, str):
                continue
            target_home = table.route(target._meta.app_label).home
            if target_home == home:
                continue
            errors.extend(_relation_errors(table, model, field, constrained, home, target, target_home))
    return errors


def _relation_errors(
    table: RoutingTable, model: Any, field: Any, constrained: bool, home: str, target: Any, target_home: str
) -> list[CheckMessage]:
    name = f"{model._meta.label}.{field.name}"
    if not table.cross_database_relations:
        return [
            Error(
                f"{name} relates {home} to {target_home}, but routing.cross_database_relations is false.",
                hint="Home both models on one alias, or set routing.cross_database_relations: true.",
                obj=field,
                id="multidb.E002",
            )
        ]
    errors: list[CheckMessage] = []
    if constrained:
        errors.append(
            Error(
                f"{name} points to {target._meta.label} in another database ({target_home}, not {home}) "
                "with a database constraint, so its migration would fail.",
                hint=f"Add db_constraint=False to {name}.",
                obj=field,
                id="multidb.E001",
            )
        )
    on_delete = getattr(field.remote_field, "on_delete", models.DO_NOTHING)
    if on_delete is not models.DO_NOTHING:
        errors.append(
            Error(
                f"{name} uses on_delete={on_delete.__name__} across databases ({home} -> {target_home}): deleting "
                f"a {target._meta.label} would look for {model._meta.label} rows in {target_home} and fail.",
                hint="Use on_delete=models.DO_NOTHING and delete the dependent rows in a pre_delete handler "
                "(as apps/blog/signals.py does).",
                obj=field,
                id="multidb.E004",
            )
        )
    return errors


@register(Tags.models)
def check_config_matches_registry(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """multidb.E003: the config routes an app label that the app registry does not have."""
    table = current_table()
    registered = {config.label for config in apps.get_app_configs()}
    return [
        Error(
            f"The routing table has app label '{label}', which no installed app uses.",
            hint="An AppConfig sets a custom label: list that label under the alias's apps in the config.",
            id="multidb.E003",
        )
        for label in sorted(set(table.routes) - registered)
    ]


@register(Tags.models)
def check_shard_keys(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """multidb.E005: every model of a sharded app must have the shard group's key field."""
    table = current_table()
    errors: list[CheckMessage] = []
    for model in _models(app_configs):
        group = table.route(model._meta.app_label).shard
        if group is None:
            continue
        names = {name for field in model._meta.concrete_fields for name in (field.name, field.attname)}
        if group.key not in names:
            errors.append(
                Error(
                    f"{model._meta.label} is in shard group '{group.name}' but has no field {group.key}, "
                    "so its rows cannot be placed on a shard.",
                    hint=f"Add {group.key} to {model._meta.label}, or move its app out of shards.{group.name}.apps.",
                    obj=model,
                    id="multidb.E005",
                )
            )
    return errors


def _models(app_configs: Sequence[AppConfig] | None) -> Iterable[type[models.Model]]:
    configs = app_configs if app_configs is not None else apps.get_app_configs()
    for config in configs:
        for model in config.get_models():
            if model._meta.managed and not model._meta.proxy:
                yield model


def _relations(model: type[models.Model]) -> Iterable[tuple[Any, bool]]:
    """(field, has a database constraint) for each FK, one-to-one and auto-created M2M of `model`."""
    for field in model._meta.local_fields:
        if isinstance(field, models.ForeignKey):
            yield field, field.db_constraint  # type: ignore[attr-defined]  # real attribute, absent from the stubs
    for field in model._meta.local_many_to_many:
        through = field.remote_field.through
        if through is not None and not isinstance(through, str) and through._meta.auto_created:
            yield field, field.remote_field.db_constraint
