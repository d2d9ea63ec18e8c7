"""URLs for tests/unit/test_request_log.py: the project's, plus a view that fails in the database."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from project.urls import urlpatterns as project_urlpatterns


def broken_query(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT missing_column FROM no_such_table")  # an unhandled DatabaseError: a 500
    return HttpResponse("unreachable")


urlpatterns = [path("boom/", broken_query), *project_urlpatterns]
