"""Request ids (the proxy's X-Request-ID, or a new one) and one error line per failed request."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.db import connections
from django.http import HttpRequest, HttpResponse

from .logging_json import REQUEST_ID

HEADER = "X-Request-ID"
PROBE_PATHS = frozenset({"/healthz", "/readyz"})
# nginx's $request_id is 32 hex digits; anything else a client sends is replaced, so log lines cannot be forged.
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
logger = logging.getLogger("project.requests")


class RequestLogMiddleware:
    """Outermost middleware: the id is in every line logged during the request and in the response's header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = given if _VALID_ID.fullmatch(given) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]  # for views and the API's error bodies
        token = REQUEST_ID.set(request_id)
        _forget_errors_of_closed_connections()
        started = time.monotonic()
        try:
            response = self.get_response(request)
            # A failing readiness probe is reported by its own 503 (and django.request), every second.
            if response.status_code >= 500 and request.path not in PROBE_PATHS:
                _log_failure(request, response, time.monotonic() - started)
        finally:
            REQUEST_ID.reset(token)
        response[HEADER] = request_id
        return response


def _forget_errors_of_closed_connections() -> None:
    """Django flags a connection when a query fails and clears the flag when it next connects or checks it,
    but not when it closes a broken connection at the end of that request: without this, a later request on
    the same thread would blame an alias it never touched (failed_alias). A closed connection has no errors."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            connection.errors_occurred = False


def failed_alias(request: HttpRequest, response: HttpResponse) -> str | None:
    """The database alias a failure is about: as the view said it (request or DRF body), else the
    connection that saw a database error during this request (Django marks it until the request ends)."""
    named = getattr(request, "multidb_alias", None)
    data = getattr(response, "data", None)  # a DRF Response, e.g. the API's 503 {"detail", "alias"}
    if named is None and isinstance(data, dict) and isinstance(data.get("alias"), str):
        named = data["alias"]
    if named is None:
        broken = [c.alias for c in connections.all(initialized_only=True) if c.errors_occurred]
        named = ",".join(broken) or None
    return named


def _log_failure(request: HttpRequest, response: HttpResponse, seconds: float) -> None:
    logger.error(
        "%s %s failed with %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "alias": failed_alias(request, response),
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1),
        },
    )
