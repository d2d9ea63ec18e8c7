"""Login with failure throttling: one mechanism for the admin form and the API's Basic auth."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from .throttles import LoginFailureThrottle


class ThrottledModelBackend(ModelBackend):
    """Django's ModelBackend, refusing an address over its failure rate before any password is hashed."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> AbstractBaseUser | None:
        throttle = LoginFailureThrottle()
        # PermissionDenied stops django.contrib.auth.authenticate() here: no other backend, no hashing.
        if request is not None and throttle.wait_if_blocked(request) is not None:
            raise PermissionDenied("too many failed logins from this address")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and request is not None and password is not None:
            throttle.record_failure(request)
        return user


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin login form, saying when an address is throttled instead of "wrong password"."""

    def clean(self) -> dict[str, Any]:
        wait = LoginFailureThrottle().wait_if_blocked(self.request) if self.request is not None else None
        if wait is not None:
            raise forms.ValidationError(
                "Too many failed logins from your address; try again in %(seconds)d seconds.",
                code="throttled",
                params={"seconds": int(wait) + 1},
            )
        return super().clean()
