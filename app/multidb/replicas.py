"""Read replicas: which replica serves a read, read-your-writes pinning, failover and lag avoidance."""

from __future__ import annotations

import functools
import inspect
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, TypeVar, overload

from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger("multidb.replicas")


class Pins(set[str]):
    """Homes whose reads stay on the home in this scope; `written` are those written in it."""

    def __init__(self, carried: Iterable[str] = ()) -> None:
        super().__init__(carried)
        self.written: set[str] = set()


# The current request's pins (or, outside requests, the thread's or task's own).
_pinned: ContextVar[Pins | None] = ContextVar("multidb_pinned", default=None)
# Inside use_home(): every read goes to its home. A context variable, so each thread and task has its own.
_home_only: ContextVar[bool] = ContextVar("multidb_home_only", default=False)

F = TypeVar("F", bound=Callable[..., Any])


class _UseHome:
    """The context manager (and decorator) `use_home()` returns; fresh per `with` or per call."""

    def __init__(self) -> None:
        self._tokens: list[Token[bool]] = []

    def __enter__(self) -> None:
        self._tokens.append(_home_only.set(True))

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        _home_only.reset(self._tokens.pop())

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def pinned_async(*args: Any, **kwargs: Any) -> Any:
                with _UseHome():
                    return await func(*args, **kwargs)

            return pinned_async  # type: ignore[return-value]  # same signature, by functools.wraps

        @functools.wraps(func)
        def pinned(*args: Any, **kwargs: Any) -> Any:
            with _UseHome():  # a new one per call: concurrent calls in other threads keep their own tokens
                return func(*args, **kwargs)

        return pinned  # type: ignore[return-value]


@overload
def use_home() -> _UseHome: ...
@overload
def use_home(func: F) -> F: ...
def use_home(func: F | None = None) -> _UseHome | F:
    """Send every read inside to the home, never a replica: `with use_home():`, `@use_home` or `@use_home()`.

    Like django-multidb-router's `use_primary_db`; per thread and per asyncio task (contextvars).
    """
    return _UseHome() if func is None else _UseHome()(func)


def pin(home: str) -> None:
    """Keep reads of `home`'s apps on `home` for the rest of this request, thread or task."""
    pins = _pinned.get()
    if pins is None:
        pins = Pins()
        _pinned.set(pins)
    pins.add(home)
    pins.written.add(home)


@contextmanager
def pinning_scope(carried: Iterable[str] = ()) -> Iterator[Pins]:
    """Fresh pins for one request; `carried` are a client's recent writes (the cookie)."""
    pins = Pins(carried)
    token = _pinned.set(pins)
    try:
        yield pins
    finally:
        _pinned.reset(token)


class ReplicaPool:
    """The replicas of one home, used round-robin, skipping those cooling down or lagging.

    State is per process (each gunicorn worker learns on its own); all of it is
    advisory: the worst case is a read served by the home.
    """

    def __init__(self, home: str, replicas: tuple[str, ...], cooldown: float, max_lag: float, check_every: float):
        self.home = home
        self.replicas = replicas
        self._cycle = itertools.cycle(replicas)
        self._cooldown = cooldown
        self._max_lag = max_lag
        self._check_every = check_every
        self._avoid_until: dict[str, float] = {}  # alias -> monotonic time to retry it
        self._next_check: dict[str, float] = dict.fromkeys(replicas, 0.0)

    def pick(self) -> str:
        """The alias for one read: a usable replica, else the home."""
        pinned = _pinned.get()
        if _home_only.get() or (pinned and self.home in pinned) or connections[self.home].in_atomic_block:
            return self.home
        now = time.monotonic()
        for _ in self.replicas:
            alias = next(self._cycle)
            if self._avoid_until.get(alias, 0.0) > now:
                continue
            if self._next_check[alias] <= now and not self._usable(alias, now):
                continue
            if connections[alias].connection is None and not self._connects(alias, now):
                continue  # gone since its last check: fail over now rather than fail this read
            return alias
        return self.home

    def _usable(self, alias: str, now: float) -> bool:
        """Connect (failover) and measure lag; at most once per check interval per replica."""
        self._next_check[alias] = now + self._check_every
        try:
            lag = replica_lag(connections[alias])
        except DatabaseError as error:
            self._unavailable(alias, now, error)
            return False
        if lag is not None and lag > self._max_lag:
            self._avoid_until[alias] = now + self._check_every
            logger.warning("replica %s lags %.1fs (limit %.1fs), reading from %s", alias, lag, self._max_lag, self.home)
            return False
        self._avoid_until.pop(alias, None)
        return True

    def _connects(self, alias: str, now: float) -> bool:
        """Open the connection the read is about to use (it would be opened for it anyway)."""
        try:
            connections[alias].ensure_connection()
        except DatabaseError as error:
            self._unavailable(alias, now, error)
            return False
        return True

    def _unavailable(self, alias: str, now: float, error: DatabaseError) -> None:
        self._avoid_until[alias] = now + self._cooldown
        logger.warning(
            "replica %s unavailable, reading from %s for %.0fs: %s",
            alias,
            self.home,
            self._cooldown,
            type(error).__name__,
        )


def replica_lag(connection: BaseDatabaseWrapper) -> float | None:
    """Seconds the replica is behind its primary: 0 when it has replayed all it received; None if unknown."""
    if connection.vendor != "postgresql":
        connection.ensure_connection()
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL"
            " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
            " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
        )
        row = cursor.fetchone()
    return None if row is None or row[0] is None else float(row[0])
