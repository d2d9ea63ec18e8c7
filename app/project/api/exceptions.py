"""API error bodies: {"detail": ..., "errors": {field: [...]}} for every error, 503 naming a database that is down."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.utils import InterfaceError, OperationalError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from .parsers import RequestTooLarge

RETRY_AFTER_SECONDS = 5
NON_FIELD = "__all__"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler with one body shape, plus 503 + Retry-After for an unreachable database."""
    if isinstance(exc, OperationalError | InterfaceError):
        set_rollback()
        return database_unavailable(failed_alias(context.get("view")))
    if isinstance(exc, RequestDataTooBig):  # Django reads the body itself for some requests
        exc = RequestTooLarge()
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = error_body(response.data)
    return response


def database_unavailable(alias: str) -> Response:
    detail = f"database {alias} is unavailable; retry later"
    body = {"detail": detail, "alias": alias, "errors": {NON_FIELD: [detail]}}
    return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def failed_alias(view: Any) -> str:
    """The alias whose connection raised, else the alias the router picks for the view's model.

    Django flags a connection that raised (errors_occurred) and clears the flag between requests, so this
    names default when a login lookup failed on an orders request, and shop_db when the orders query did.
    """
    failed = [c.alias for c in connections.all(initialized_only=True) if c.errors_occurred]
    if failed:
        return str(failed[0])
    queryset = getattr(view, "queryset", None)
    if queryset is None:
        return DEFAULT_DB_ALIAS
    return str(router.db_for_read(queryset.model))


def error_body(data: Any) -> dict[str, Any]:
    """{"detail": one line, "errors": {field or "__all__": [messages]}} from whatever DRF produced."""
    if isinstance(data, dict) and set(data) == {"detail"}:
        detail = str(data["detail"])
        return {"detail": detail, "errors": {NON_FIELD: [detail]}}
    if isinstance(data, dict):
        errors = {str(field): _messages(value) for field, value in data.items()}
        return {"detail": "invalid input: " + ", ".join(errors), "errors": errors}
    messages = _messages(data)
    return {"detail": messages[0] if messages else "invalid input", "errors": {NON_FIELD: messages}}


def _messages(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]
