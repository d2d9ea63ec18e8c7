"""A JSON parser that refuses what PostgreSQL cannot store: lone surrogates and NUL characters in strings."""

from __future__ import annotations

import json
import re
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

# A lone surrogate cannot be encoded as UTF-8 and PostgreSQL's text refuses NUL: both would be a 500 at save time.
_INVALID_TEXT = re.compile("[\x00\ud800-\udfff]")


class RequestTooLarge(APIException):
    status_code = 413
    default_detail = "request body too large"
    default_code = "too_large"


class StrictJSONParser(JSONParser):
    """application/json into Python data; 400 for bad syntax, NaN/Infinity, deep nesting or invalid text."""

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise RequestTooLarge()
        try:
            data = json.loads(body.decode(encoding), parse_constant=_refuse_constant)
        # RecursionError: deeply nested arrays; ValueError covers bad syntax, bad UTF-8 and huge integers.
        except (ValueError, RecursionError) as e:
            raise ParseError(f"invalid JSON: {e}") from e
        if _has_invalid_text(data):
            raise ParseError("invalid text: a JSON string holds a lone surrogate or a NUL character")
        return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _has_invalid_text(data: Any) -> bool:
    # Iterative, so a deeply nested (but parseable) document cannot exhaust the stack here.
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _INVALID_TEXT.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
