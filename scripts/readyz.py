"""Print one line with the /readyz verdict of each alias (`make up`); exit 0 only on HTTP 200. Stdlib only.

Usage: readyz.py [--cafile CA] URL   (an https URL is verified with CA, else with the system's trust store)
"""

from __future__ import annotations

import json
import ssl
import sys
import urllib.error
import urllib.request
from typing import Any


def main(argv: list[str]) -> int:
    cafile = argv[1] if len(argv) == 3 and argv[0] == "--cafile" else None
    url = argv[-1]
    context = ssl.create_default_context(cafile=cafile)
    try:
        with urllib.request.urlopen(url, timeout=15, context=context) as response:  # noqa: S310 - the stack's own URL
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    print(f"readyz: HTTP {status}: {verdicts(body)}")
    return 0 if status == 200 else 1


def verdicts(body: bytes) -> str:
    """`default ok, blog_db ok, ...`, or the start of a body that is not /readyz's JSON."""
    try:
        databases = json.loads(body)["databases"]
        return ", ".join(f"{alias} {db['status']}{_replica(db)}{_nodes(db)}" for alias, db in databases.items())
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace")[:200]


def _replica(db: dict[str, Any]) -> str:
    if not db.get("replica"):
        return ""
    lag = db.get("lag_seconds")
    return " (replica, lag " + ("unknown" if lag is None else f"{lag}s") + ")"


def _nodes(db: dict[str, Any]) -> str:
    """` (2 nodes, standby lag 0 B)` for an alias of several nodes (docs/ha.md)."""
    if not db.get("nodes"):
        return ""
    lags = ", ".join("unknown" if lag is None else f"{lag} B" for lag in db.get("standby_lag_bytes") or [])
    return f" ({db['nodes']} nodes, standby lag {lags or 'none answering'})"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
