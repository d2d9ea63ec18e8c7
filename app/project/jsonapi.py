"""The JSON API's shared plumbing: one collection endpoint (list + create), auth, parsing and error bodies."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.db import IntegrityError, router, transaction
from django.db.models import DecimalField, Model, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

MAX_LIMIT = 100
ALLOWED_METHODS = "GET, HEAD, POST"

Serializer = Callable[[Any], dict[str, Any]]
Errors = dict[str, list[str]]


def collection_endpoint(
    *,
    queryset: QuerySet[Any],
    serialize: Serializer,
    form_class: type[forms.ModelForm[Any]],
    owner_field: str | None = None,
) -> Callable[[HttpRequest], HttpResponse]:
    """A view listing `queryset` on GET and creating through `form_class` on POST.

    `owner_field` names the model's user ForeignKey, set to the authenticated
    caller rather than taken from the payload.
    """

    # CSRF is not waived for everyone: _authenticated_user enforces it for session
    # callers, whose cookies a browser attaches to cross-site requests. Basic-auth
    # callers are exempt because creation also requires Content-Type
    # application/json, which a cross-site page cannot send without a CORS preflight
    # this app never grants, so a browser's cached Basic credentials cannot be abused.
    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        try:
            if request.method in ("GET", "HEAD"):
                return _list(request, queryset, serialize)
            if request.method == "POST":
                return _create(request, serialize, form_class, owner_field)
            raise ApiError(405, f"method {request.method} not allowed", headers={"Allow": ALLOWED_METHODS})
        except ApiError as e:
            return error_response(e.status, e.errors, e.headers)

    return view


class ApiError(Exception):
    """An error answered as `{"errors": {...}}` with `status`; raised anywhere below a view."""

    def __init__(self, status: int, errors: Errors | str, headers: dict[str, str] | None = None) -> None:
        super().__init__(errors)
        self.status = status
        self.errors: Errors = {"__all__": [errors]} if isinstance(errors, str) else errors
        self.headers = headers or {}


def error_response(status: int, errors: Errors, headers: dict[str, str] | None = None) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status, headers=headers)


def decimal_text(instance: Model, field_name: str) -> str:
    """A decimal field as text with the column's scale, so "2.5" just created reads "2.50" as it will when listed."""
    field = instance._meta.get_field(field_name)
    if not isinstance(field, DecimalField):
        raise TypeError(f"{instance._meta.label}.{field_name} is not a DecimalField")
    return f"{getattr(instance, field_name):.{field.decimal_places}f}"


def related_username(instance: Model, field_name: str) -> str | None:
    """The username of a user related across databases; None when that row is not there.

    With no constraint between databases, a restore of one alias (or a user deleted while its
    database was unreachable) can leave rows pointing at a missing user: one such row must not
    turn the whole list into a 500.
    """
    try:
        user = getattr(instance, field_name)
    except ObjectDoesNotExist:
        return None
    return None if user is None else str(user.get_username())


def form_errors(form: forms.BaseForm) -> Errors:
    """Plain messages per field: the shape clients read, without Django's error codes."""
    return {field: [str(message) for message in messages] for field, messages in form.errors.items()}


class _LimitForm(forms.Form):
    limit = forms.IntegerField(min_value=1, max_value=MAX_LIMIT, required=False)


def _list(request: HttpRequest, queryset: QuerySet[Any], serialize: Serializer) -> JsonResponse:
    form = _LimitForm(request.GET)
    if not form.is_valid():
        raise ApiError(400, form_errors(form))
    limit = form.cleaned_data["limit"] or MAX_LIMIT
    return JsonResponse({"results": [serialize(obj) for obj in queryset.all()[:limit]]})


def _create(
    request: HttpRequest, serialize: Serializer, form_class: type[forms.ModelForm[Any]], owner_field: str | None
) -> JsonResponse:
    user = _authenticated_user(request)
    form = form_class(_json_object(request))
    if owner_field:
        setattr(form.instance, owner_field, user)
    if not form.is_valid():
        raise ApiError(400, form_errors(form))
    model: type[Model] = form_class._meta.model
    try:
        # A savepoint on the model's own database keeps its connection usable after a lost race.
        with transaction.atomic(using=router.db_for_write(model)):
            obj = form.save()
    except IntegrityError as e:
        # The form's unique checks passed, so a concurrent request created the same row first.
        raise ApiError(400, "conflicts with a record created concurrently; retry") from e
    return JsonResponse(serialize(obj), status=201)


def _authenticated_user(request: HttpRequest) -> AbstractBaseUser:
    """The caller from HTTP Basic credentials, else from the session (with its CSRF check), else 401."""
    header = request.headers.get("Authorization")
    if header:
        # Credentials that were sent but are wrong never fall back to the session.
        user = _basic_auth_user(request, header)
        if user is None:
            raise _unauthorized("invalid credentials")
        return user
    if not request.user.is_authenticated:
        raise _unauthorized("authentication required")
    if _csrf_rejects(request):
        raise ApiError(403, "CSRF verification failed; send the csrftoken cookie's value as X-CSRFToken")
    return request.user


def _basic_auth_user(request: HttpRequest, header: str) -> AbstractBaseUser | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    if not colon:
        return None
    return authenticate(request, username=username, password=password)


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": 'Basic realm="api", charset="UTF-8"'})


def _csrf_rejects(request: HttpRequest) -> bool:
    # The view is csrf_exempt (for Basic auth), so run the middleware's own check by hand.
    check = CsrfViewMiddleware(_unused_view)
    check.process_request(request)
    return check.process_view(request, _unused_view, (), {}) is not None


def _unused_view(request: HttpRequest) -> HttpResponse:
    # The middleware API wants a downstream view; only its CSRF verdict is used.
    return HttpResponse()


def _json_object(request: HttpRequest) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise ApiError(415, f"expected Content-Type application/json, got {request.content_type or 'none'}")
    try:
        data = json.loads(request.body)
    except RequestDataTooBig as e:
        raise ApiError(413, "request body too large") from e
    # RecursionError: deeply nested arrays; ValueError covers bad syntax, bad UTF-8 and huge integers.
    except (ValueError, RecursionError) as e:
        raise ApiError(400, f"invalid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ApiError(400, "expected a JSON object ({...}) as the body")
    return data
