"""Shard groups and key strategies: which shard a key value names (pure; no settings, no models)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model

_JUMP_MULTIPLIER = 2862933555777941757
_MASK64 = (1 << 64) - 1


def modulo(key: int, buckets: int) -> int:
    """django-cfg's `user_id % 4`: even spread, but growing from N to N+1 shards moves ~N/(N+1) of the keys."""
    return key % buckets


def jump(key: int, buckets: int) -> int:
    """Jump consistent hash (Lamping & Veach, 2014): growing from N to N+1 shards moves ~1/(N+1) of the keys."""
    key &= _MASK64
    bucket, candidate = -1, 0
    while candidate < buckets:
        bucket = candidate
        key = (key * _JUMP_MULTIPLIER + 1) & _MASK64
        candidate = int((bucket + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return bucket


STRATEGIES: dict[str, Callable[[int, int], int]] = {"modulo": modulo, "jump": jump}


def key_to_int(key: Any) -> int:
    """Integers as they are; anything else through a stable 64-bit hash (never Python's salted hash())."""
    if isinstance(key, bool) or not isinstance(key, int):
        digest = hashlib.blake2b(str(key).encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big")
    return key


@dataclass(frozen=True)
class ShardGroup:
    """Apps whose rows are spread over `aliases` by the value of `key` (a field name or its attname)."""

    name: str
    aliases: tuple[str, ...]
    key: str
    strategy: str
    labels: tuple[str, ...] = ()  # the app labels in the group

    def alias_for(self, key: Any) -> str:
        """The shard of a key value; a model instance (the key's target, e.g. a user) stands for its pk."""
        if isinstance(key, Model):
            key = key.pk
        if key is None:
            raise ShardKeyMissingError(f"shard group '{self.name}' needs a value for {self.key}, got None")
        return self.aliases[STRATEGIES[self.strategy](key_to_int(key), len(self.aliases))]


class ShardKeyMissingError(ImproperlyConfigured):
    """A sharded model was routed without its shard key: refusing beats guessing a shard."""


class ShardMismatchError(ValueError):
    """A row was about to be written to a shard other than the one its parent or its key names."""
