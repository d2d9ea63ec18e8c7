"""Limit/offset pagination without a COUNT query, answering 400 for a bad limit or offset instead of clamping it."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination, serializers
from rest_framework.request import Request
from rest_framework.response import Response

MAX_LIMIT = 100


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """`?limit=` (1..100, default 100) and `?offset=` (>= 0); the body is {next, previous, results}.

    No `count`: it costs a second query on the list's database for every page (measured by bench/api.py as
    a fifth of a list's time), and the hand-written API this replaced had none. One row past the page tells
    whether there is a next one.
    """

    default_limit = MAX_LIMIT
    max_limit = MAX_LIMIT

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        self.request = request
        self.limit = self.get_limit(request)
        self.offset = self.get_offset(request)
        rows = list(queryset[self.offset : self.offset + self.limit + 1])
        # DRF's next/previous links read `count`: a lower bound is all they need.
        self.count = self.offset + len(rows)
        return rows[: self.limit]

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = super().get_paginated_response_schema(schema)
        del response["properties"]["count"]
        response["required"] = ["results"]
        return response

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
