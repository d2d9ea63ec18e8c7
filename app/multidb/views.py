"""Health endpoints: /healthz (process up, no I/O) and /readyz (every alias answers and is migrated)."""

import ipaddress

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse

from .status import Readiness

# Headers a proxy adds: with one, the loopback peer is the proxy (nginx on the app host), not the caller.
_PROXIED = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": Readiness.OK})


def readyz(request: HttpRequest) -> JsonResponse:
    """The same status code for everyone; each alias's error text only for local callers and staff."""
    from .health import check_databases

    report = check_databases()
    body = report.as_dict() if may_see_detail(request) else report.summary()
    return JsonResponse(body, status=200 if report.ok else 503)


def may_see_detail(request: HttpRequest) -> bool:
    """A local caller (loopback peer, not through a proxy) or a signed-in staff user."""
    if is_local(request):
        return True
    try:
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated and user.is_staff)
    except DatabaseError:  # the session or user lives in default, which may be the database that is down
        return False


def is_local(request: HttpRequest) -> bool:
    """The peer is loopback and no proxy header is present; X-Forwarded-For's value is never trusted."""
    try:
        loopback = ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False
    return loopback and not any(request.META.get(header) for header in _PROXIED)
