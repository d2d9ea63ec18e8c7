"""gunicorn's logs as JSON lines on stderr, without the health probes in the access log."""

from __future__ import annotations

import datetime
from typing import Any

from gunicorn.glogging import Logger

# Polled every second by Compose and the load balancer: 86,400 lines a day each that say nothing.
PROBE_PATHS = frozenset({"/healthz", "/readyz"})

_STDERR = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
LOGCONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "project.logging_json.JsonFormatter"}},
    "handlers": {"stderr": _STDERR},
    "root": {"level": "WARNING", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
    },
}


class JsonAccessLogger(Logger):
    """One JSON line per request (the app's request id, status, duration), probes left out."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: datetime.timedelta) -> None:
        if environ.get("PATH_INFO") in PROBE_PATHS or not self.cfg.accesslog:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        status = atoms["s"]
        self.access_log.info(
            "%s %s %s",
            atoms["m"],
            atoms["U"],
            status,
            extra={
                "request_id": atoms.get("{x-request-id}o") or atoms.get("{x-request-id}i"),
                "method": atoms["m"],
                "path": atoms["U"],
                "status": int(status) if str(status).isdigit() else status,
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
                "bytes": atoms["B"],
                "remote_addr": atoms["h"],
                "user_agent": atoms["a"],
            },
        )
