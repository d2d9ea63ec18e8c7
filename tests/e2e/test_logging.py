"""The app's logs on the Compose stack: a real 500 is a JSON line with its traceback and request id; probes stay out."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.e2e.test_stack import DATABASES, Stack

pytestmark = pytest.mark.e2e

LogLine = dict[str, Any]


def _get(stack: Stack, path: str) -> tuple[int, str]:
    """GET through the proxy over verified HTTPS: the status and the request id the client was given."""
    request = urllib.request.Request(f"{stack.base_url}{path}")
    try:
        with urllib.request.urlopen(request, timeout=15, context=stack.ssl_context()) as response:
            status, header = response.status, response.getheader("X-Request-ID")
    except urllib.error.HTTPError as error:
        status, header = error.code, error.headers.get("X-Request-ID")
    assert header, f"{path}: no X-Request-ID in the response"
    return status, header.split(",")[0].strip()  # the proxy and the app may both send it: one value


def _app_log(stack: Stack) -> list[LogLine]:
    """The app container's log lines that are JSON objects (every line gunicorn and Django write)."""
    out = stack.compose("logs", "--no-color", "--no-log-prefix", "app").stdout
    # Compose may put a terminal control sequence (erase line) before each line: the object starts at "{".
    return [json.loads(line[line.index("{") :]) for line in out.splitlines() if "{" in line]


def _until_logged(stack: Stack, wanted: Callable[[LogLine], bool], timeout: float = 15) -> list[LogLine]:
    """The app's JSON lines once one of them is `wanted` (the log reaches Docker within a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = _app_log(stack)
        if any(wanted(line) for line in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.5)


@contextmanager
def _column_renamed(stack: Stack, alias: str, table: str, column: str) -> Iterator[None]:
    """Rename a column behind the ORM's back (as the server's superuser, with psql), then put it back."""
    service, database, _ = DATABASES[alias]
    broken = f"{column}_renamed_by_e2e"
    rename = 'ALTER TABLE :"table" RENAME COLUMN :"old" TO :"new"'
    stack.superuser_sql(service, database, rename, table=table, old=column, new=broken)
    try:
        yield
    finally:
        stack.superuser_sql(service, database, rename, table=table, old=broken, new=column)


def test_a_500_is_logged_as_json_with_its_traceback_and_the_request_id(stack: Stack) -> None:
    with _column_renamed(stack, "blog_db", "blog_post", "title"):
        status, request_id = _get(stack, "/api/posts/")

    assert status == 500
    lines = _until_logged(stack, lambda line: line.get("request_id") == request_id and "traceback" in line)
    mine = [line for line in lines if line.get("request_id") == request_id]
    traced = [line for line in mine if line["logger"] == "django.request"]
    assert len(traced) == 1, mine
    assert traced[0]["level"] == "ERROR" and traced[0]["path"] == "/api/posts/"
    assert "Traceback (most recent call last)" in traced[0]["traceback"]
    assert "ProgrammingError" in traced[0]["traceback"] and "title" in traced[0]["traceback"]
    failed = [line for line in mine if line["logger"] == "project.requests"]
    assert len(failed) == 1, mine
    assert (failed[0]["alias"], failed[0]["status"], failed[0]["path"]) == ("blog_db", 500, "/api/posts/")
    assert failed[0]["duration_ms"] > 0
    accessed = [line for line in mine if line["logger"] == "gunicorn.access"]
    assert [line["status"] for line in accessed] == [500]
    assert _get(stack, "/api/posts/")[0] == 200  # the column is back: the same request works again


def test_probes_stay_out_of_the_access_log(stack: Stack) -> None:
    probes = [_get(stack, path) for path in ("/healthz", "/readyz", "/healthz")]
    status, listed = _get(stack, "/api/posts/")
    assert status == 200 and probes[0][0] == 200  # /readyz may say 503 on a loaded machine: any answer will do

    lines = _until_logged(stack, lambda line: line.get("request_id") == listed)
    access = [line for line in lines if line["logger"] == "gunicorn.access"]

    assert any(line.get("request_id") == listed and line["path"] == "/api/posts/" for line in access), access[-5:]
    assert not [line for line in access if line["path"] in ("/healthz", "/readyz")]  # Compose's probe neither
    assert not {request_id for _, request_id in probes} & {line.get("request_id") for line in lines}
