"""Django's error pages for paths under /api/ as JSON bodies (404, 500 and the rest), never HTML."""

from __future__ import annotations

import sys

from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from .exceptions import RETRY_AFTER_SECONDS, failed_alias

API_PREFIX = "/api/"


def _json_error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail, "errors": {"__all__": [detail]}}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return _json_error(400, "bad request")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return _json_error(403, "permission denied")
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return _json_error(404, "not found")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500, or 503 naming the alias when a database failed outside a DRF view (in a middleware, say)."""
    if not request.path.startswith(API_PREFIX):
        return defaults.server_error(request)
    # Django calls this handler inside its `except` block, so the exception is still current.
    if isinstance(sys.exception(), OperationalError | InterfaceError):
        alias = failed_alias(None)
        detail = f"database {alias} is unavailable; retry later"
        body = {"detail": detail, "alias": alias, "errors": {"__all__": [detail]}}
        return JsonResponse(body, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return _json_error(500, "internal server error")
