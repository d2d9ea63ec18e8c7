"""HTTP Basic authentication that refuses throttled addresses (429) and unknown schemes (401)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.authentication import BasicScheme
from rest_framework.authentication import BasicAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request

from .throttles import LoginFailureThrottle


class ThrottledBasicAuthentication(BasicAuthentication):
    """Basic auth; an address over its login-failure rate gets 429 + Retry-After before any hashing.

    Any other Authorization scheme is a 401 rather than a silent fall-back to the session: credentials that
    were sent and are not understood must never be ignored.
    """

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != b"basic":
            raise AuthenticationFailed("unsupported Authorization scheme; use Basic")
        wait = LoginFailureThrottle().wait_if_blocked(request)
        if wait is not None:
            raise Throttled(wait, detail="too many failed logins from your address.")
        result: tuple[Any, None] | None = super().authenticate(request)
        return result


class ThrottledBasicScheme(BasicScheme):
    """Tells drf-spectacular that this class is HTTP Basic (the schema's basicAuth security scheme)."""

    target_class = ThrottledBasicAuthentication
