"""Log records as JSON lines (one object per line, on stderr), carrying the current request's id."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# The id of the request this thread is serving (set by project.request_log), so every line it logs carries it.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
# Attributes a record may carry (logger.x(..., extra={...})) that become keys of the line, in this order.
FIELDS = ("request_id", "alias", "method", "path", "status", "duration_ms", "bytes", "remote_addr", "user_agent")


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, the known extra fields, and `traceback` when the record has an exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        request = getattr(record, "request", None)  # django.request's records carry the HttpRequest
        # django.request logs 4xx/5xx responses after the middleware returned: the id is on the request then.
        request_id = entry.get("request_id") or getattr(request, "request_id", None) or REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        if request is not None and "path" not in entry:
            entry["method"], entry["path"] = getattr(request, "method", None), getattr(request, "path", None)
        status_code = getattr(record, "status_code", None)  # django.request's too
        if status_code is not None and "status" not in entry:
            entry["status"] = status_code
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def logging_config(multidb_level: str = "INFO") -> dict[str, Any]:
    """Django's LOGGING: everything as JSON on stderr; 500s with their traceback even when DEBUG is false.

    Django's default sends django.request's errors to mail_admins only (and to the console only with DEBUG);
    configuring the `django` logger here replaces that.
    """
    stderr = {"handlers": ["stderr"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": "WARNING"},
        "loggers": {
            "django": {**stderr, "level": "INFO"},
            "multidb": {**stderr, "level": multidb_level},
            "project": {**stderr, "level": "INFO"},
        },
    }
