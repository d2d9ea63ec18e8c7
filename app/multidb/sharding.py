"""Where a sharded model's rows go: its key's shard, or its parent's shard for a child row; `shard_for` names it."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Field, ForeignKey, Model
from django.db.models.signals import pre_save
from django.dispatch import receiver

from .routing import current_table
from .shard_keys import STRATEGIES, ShardGroup, ShardKeyMissingError, ShardMismatchError, jump, key_to_int, modulo

__all__ = [
    "STRATEGIES",
    "ShardGroup",
    "ShardKeyMissingError",
    "ShardMismatchError",
    "jump",
    "key_to_int",
    "modulo",
    "place",
    "shard_for",
    "shard_of",
]


def shard_for(model_or_label: Any, key: Any) -> str:
    """The alias holding `key`'s rows of a sharded model or app label: `Post.objects.using(shard_for(Post, 7))`.

    `key` is the key's value (`user.pk`) or the object it names (`user`): both name the same shard.
    """
    label = model_or_label if isinstance(model_or_label, str) else model_or_label._meta.app_label
    group = current_table().route(label).shard
    if group is None:
        raise ImproperlyConfigured(f"app '{label}' is not sharded; see `python app/manage.py dbroutes`")
    return group.alias_for(key)


def place(group: ShardGroup, model: type[Model], hints: dict[str, Any], *, reading: bool) -> str:
    """The shard a query or save of `model` goes to, from its hints; refuse rather than guess."""
    if "shard_key" in hints:
        return group.alias_for(hints["shard_key"])
    instance = hints.get("instance")
    if isinstance(instance, Model):
        if instance._meta.app_label in group.labels:
            # The row itself, or a row of the group it relates to (the post of post.comments): where that is.
            return _shard_of_present(group, instance)
        target = _key_target(model, group.key)
        if target is not None and isinstance(instance, target):
            # A related manager of the key's target, e.g. user.blog_posts with key author_id: the key is its pk.
            if reading and _parent_fields(model, group):
                raise ShardKeyMissingError(_spread(group, model))
            return group.alias_for(instance.pk)
    raise ShardKeyMissingError(
        f"{model._meta.label} is sharded by {group.key} over {', '.join(group.aliases)} (shard group "
        f"'{group.name}'), and this query carries no key: use .using(shard_for({model.__name__}, key)), "
        f"save an instance ({model.__name__}(...).save()), or go through a related manager"
    )


def shard_of(group: ShardGroup, instance: Model, *, strict: bool = True) -> str | None:
    """The shard `instance`'s row belongs on: its parent's for a child row, else its key's.

    A child row (one with a foreign key to another model of the group, like a comment's post) goes
    where its parent is, whoever wrote it. None (or, when `strict`, ShardKeyMissingError) when the
    parent is given only by id on a new row, since finding it would mean asking every shard.
    """
    parents: dict[str, str] = {}
    pending = []
    for field in _parent_fields(type(instance), group):
        parent = field.get_cached_value(instance) if field.is_cached(instance) else None
        if parent is not None:
            parents[field.name] = _shard_of_present(group, parent)
        elif getattr(instance, field.attname) is not None:
            pending.append(field.name)
    if len(set(parents.values())) > 1:
        found = ", ".join(f"{name} on {alias}" for name, alias in parents.items())
        raise ShardMismatchError(f"{instance._meta.label}'s parents are on different shards ({found})")
    if parents:
        return next(iter(parents.values()))
    if pending:
        if not instance._state.adding and instance._state.db in group.aliases:
            return instance._state.db  # loaded from its shard, parent unchanged as far as we can tell
        if not strict:
            return None
        names = ", ".join(pending)
        raise ShardKeyMissingError(
            f"{instance._meta.label} rows live on their {names}'s shard, and this one gives {names} only by id: "
            f"assign the object ({names}=...) or save with .using(shard_for(...))"
        )
    key = _key_field(type(instance), group.key)
    return group.alias_for(getattr(instance, key.attname if key is not None else group.key))


@receiver(pre_save, dispatch_uid="multidb.sharding.refuse_misplaced_rows")
def refuse_misplaced_rows(sender: type[Model], instance: Model, using: str, **kwargs: Any) -> None:
    """Refuse a save to a shard other than the row's (an explicit .using(), or a related manager of its key).

    A comment saved to its author's shard while its post is on another would name a post id
    that, on that shard, is some other post or none: silent corruption.
    """
    group = current_table().route(sender._meta.app_label).shard
    if group is None or using not in group.aliases:
        return
    expected = shard_of(group, instance, strict=False)
    if expected is not None and expected != using:
        raise ShardMismatchError(
            f"{sender._meta.label} row belongs on {expected} (shard group '{group.name}': a child row goes to its "
            f"parent's shard, any other row to its {group.key}'s), not {using}: save it without .using(), "
            "or through its parent's related manager"
        )


def _shard_of_present(group: ShardGroup, instance: Model) -> str:
    """Where a row of the group is if it was loaded or saved, else where it would go."""
    state = instance._state
    if not state.adding and state.db in group.aliases:
        db: str = state.db
        return db
    alias = shard_of(group, instance)
    assert alias is not None  # strict: it raises instead  # noqa: S101
    return alias


def _spread(group: ShardGroup, model: type[Model]) -> str:
    names = ", ".join(field.name for field in _parent_fields(model, group))
    return (
        f"{model._meta.label} rows live on their {names}'s shard (shard group '{group.name}'), so the rows of one "
        f"{group.key} are spread over {', '.join(group.aliases)}: read them through the parent "
        f"(e.g. post.comments) or shard by shard with {model.__name__}.objects.using(alias)"
    )


@cache
def _key_field(model: type[Model], key: str) -> Field[Any, Any] | None:
    """The concrete field the key names, by its name (`author`) or its column attname (`author_id`)."""
    for field in model._meta.concrete_fields:
        if key in (field.name, field.attname):
            return field
    return None


def _key_target(model: type[Model], key: str) -> type[Model] | None:
    """The model a relation key points to (User for author_id), None for a plain key field."""
    field = _key_field(model, key)
    target = field.related_model if field is not None and field.is_relation else None
    return None if target is None or isinstance(target, str) else target


@cache
def _parent_fields(model: type[Model], group: ShardGroup) -> tuple[ForeignKey[Any, Any], ...]:
    """Foreign keys of `model` to models of the same shard group: its rows are co-located with those."""
    return tuple(
        field
        for field in model._meta.concrete_fields
        if isinstance(field, ForeignKey)
        and not isinstance(field.related_model, str)
        and field.related_model is not None
        and field.related_model._meta.app_label in group.labels
    )
