"""The OpenAPI schema's error responses: every operation documents the error statuses the API can answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework import permissions, serializers

# Every operation: bad query or body, bad or missing credentials, refused, throttled, a database down.
_ALWAYS = {"400": "invalid input", "401": "not authenticated", "403": "not permitted", "429": "throttled"}
_ALWAYS_LAST = {"503": "a database is unavailable: `alias` names it; retry after Retry-After seconds"}
_WITH_BODY = {"413": "request body too large", "415": "not application/json"}


class ErrorSerializer(serializers.Serializer[Any]):
    """The body of every error: one line, and messages per field ("__all__" for the request as a whole)."""

    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    alias = serializers.CharField(required=False, help_text="503 only: the database alias that is unavailable")


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, adding the error responses (components/schemas/Error) to each operation."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        errors = {**_ALWAYS, **(_WITH_BODY if self.method == "POST" else {}), **_ALWAYS_LAST}
        for code, description in errors.items():
            response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
            responses.setdefault(code, {**response, "description": description})
        return responses

    def _map_serializer_field(self, field: Any, direction: Any, bypass_extensions: bool = False) -> dict[str, Any]:
        # What the validators refuse, said in the schema: a blank required text and a sign or an empty decimal.
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        if field.read_only:
            return schema
        if isinstance(field, serializers.CharField) and not field.allow_blank:
            schema.setdefault("minLength", 1)
            if field.trim_whitespace:
                schema["pattern"] = r"\S"  # DRF trims whitespace first, so one visible character is needed
        if isinstance(field, serializers.DecimalField) and field.min_value is not None and field.min_value >= 0:
            whole = field.max_digits - field.decimal_places
            schema["pattern"] = rf"^\d{{1,{whole}}}(?:\.\d{{1,{field.decimal_places}}})?$"
        return schema

    def get_auth(self) -> list[dict[str, Any]]:
        # drf-spectacular knows AllowAny and IsAuthenticatedOrReadOnly; products' reads are anonymous too.
        auths: list[dict[str, Any]] = super().get_auth()
        perms = [p.__class__ for p in self.view.get_permissions()]
        anonymous_reads = permissions.DjangoModelPermissionsOrAnonReadOnly in perms
        if anonymous_reads and self.method in permissions.SAFE_METHODS and {} not in auths:
            auths.append({})
        return auths
