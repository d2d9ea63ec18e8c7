"""Read-your-writes across requests: a client that just wrote keeps reading from the home for a short window."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .replicas import pinning_scope
from .routing import current_table

COOKIE = "multidb_rw"


class ReadYourWritesMiddleware:
    """Scopes pinning to the request, and carries it to the same client's next requests in a cookie.

    The cookie only ever sends a client's reads to the primary, so a forged one
    costs replica capacity, never correctness; it is not signed.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        table = current_table()
        self.window = table.options.read_your_writes_seconds
        self.homes = frozenset(route.home for route in table.routes.values() if route.replicas)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.homes:
            return self.get_response(request)
        carried = set(request.COOKIES.get(COOKIE, "").split(",")) & self.homes
        with pinning_scope(carried) as pins:
            response = self.get_response(request)
        if pins.written and self.window > 0:
            # Only a write (re)starts the window, so reading does not keep a client pinned forever.
            response.set_cookie(
                COOKIE, ",".join(sorted(pins)), max_age=max(1, round(self.window)), httponly=True, samesite="Lax"
            )
        return response
