"""Throttles: failed logins per client address (checked before any password hashing) and calls per user."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def client_ip(request: HttpRequest | Request) -> str:
    """The caller's address: the proxy's last X-Forwarded-For entry when the app trusts the proxy, else the peer.

    The app trusts X-Forwarded-For exactly when it trusts X-Forwarded-Proto (security.behind_proxy sets
    SECURE_PROXY_SSL_HEADER): a client that reaches gunicorn directly could otherwise pick its own address.
    """
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and forwarded:
        return str(forwarded.split(",")[-1].strip())
    return str(request.META.get("REMOTE_ADDR", ""))


class _SettingsRate:
    """Reads the rate at call time: DRF copies THROTTLE_RATES at import, which tests and settings changes miss."""

    scope: str

    def get_rate(self) -> str | None:
        rates: dict[str, str | None] = api_settings.DEFAULT_THROTTLE_RATES
        return rates.get(self.scope)


class LoginFailureThrottle(_SettingsRate, SimpleRateThrottle):
    """Counts failed logins per client address; past the rate every login attempt is refused unhashed.

    Shared by Basic auth on the API and the admin login (project.api.backends), through the cache, so
    every gunicorn worker of a host sees the same counts.
    """

    scope = "login_failure"

    def parse_rate(self, rate: str | None) -> tuple[int | None, int | None]:
        """DRF's "count/period" plus a multiple of the unit ("20/10m"): a window longer than a minute, so that
        a slow flood (each guess costing a hash) still adds up; "20/minute" still reads as before."""
        if rate is None:
            return (None, None)
        count, _, period = rate.partition("/")
        match = re.fullmatch(r"(\d*)([smhd])[a-z]*", period)
        if match is None:
            raise ValueError(f"throttle rate {rate!r}: expected count/period such as 20/10m")
        return int(count), int(match[1] or 1) * _UNIT_SECONDS[match[2]]

    def get_cache_key(self, request: Any, view: Any = None) -> str:
        return str(self.cache_format % {"scope": self.scope, "ident": client_ip(request)})

    def wait_if_blocked(self, request: HttpRequest | Request) -> float | None:
        """Seconds until the next attempt is allowed, or None when this address may try now."""
        if self.rate is None:
            return None
        self._load(request)
        if len(self.history) < self.num_requests:
            return None
        return float(self.wait() or 1)

    def record_failure(self, request: HttpRequest | Request) -> None:
        if self.rate is None:
            return
        self._load(request)
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)

    def _load(self, request: HttpRequest | Request) -> None:
        self.key = self.get_cache_key(request)
        self.now = self.timer()
        self.history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]


class AuthenticatedUserThrottle(_SettingsRate, UserRateThrottle):
    """A rate per authenticated user (scope "user"); anonymous reads are not counted."""

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return str(self.cache_format % {"scope": self.scope, "ident": request.user.pk})
