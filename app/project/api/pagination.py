"""Limit/offset pagination that answers 400 for a bad limit or offset instead of silently clamping it."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination, serializers
from rest_framework.request import Request

MAX_LIMIT = 100


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """`?limit=` (1..100, default 100) and `?offset=` (>= 0); the body is {count, next, previous, results}."""

    default_limit = MAX_LIMIT
    max_limit = MAX_LIMIT

    def get_limit(self, request: Request) -> int:
        return _query_int(request, self.limit_query_param, 1, MAX_LIMIT) or MAX_LIMIT

    def get_offset(self, request: Request) -> int:
        return _query_int(request, self.offset_query_param, 0, None) or 0

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        # The bounds in the schema, so generated clients (and Schemathesis) know what a 400 is about.
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        bounds = {self.limit_query_param: {"minimum": 1, "maximum": MAX_LIMIT}, self.offset_query_param: {"minimum": 0}}
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters


def _query_int(request: Request, name: str, minimum: int, maximum: int | None) -> int | None:
    if name not in request.query_params:
        return None
    field = serializers.IntegerField(min_value=minimum, max_value=maximum)
    try:
        value: int = field.run_validation(request.query_params[name])
    except serializers.ValidationError as e:
        raise serializers.ValidationError({name: e.detail}) from e
    return value
