"""Print one line with the /readyz verdict of each alias (`make up`); exit 0 only on HTTP 200. Stdlib only."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import Any


def main(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310 - the stack's own http URL
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    print(f"readyz: HTTP {status}: {verdicts(body)}")
    return 0 if status == 200 else 1


def verdicts(body: bytes) -> str:
    """`default ok, blog_db ok, ...`, or the start of a body that is not /readyz's JSON."""
    try:
        databases = json.loads(body)["databases"]
        return ", ".join(f"{alias} {db['status']}{_replica(db)}" for alias, db in databases.items())
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace")[:200]


def _replica(db: dict[str, Any]) -> str:
    if not db.get("replica"):
        return ""
    lag = db.get("lag_seconds")
    return " (replica, lag " + ("unknown" if lag is None else f"{lag}s") + ")"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
