"""scripts/readyz.py, the line `make up` prints: each alias's verdict, with a replica's lag and an HA alias's nodes."""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType

from tests.unit.cli import REPO


def _readyz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readyz", REPO / "scripts" / "readyz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_line_names_each_alias_with_its_replica_lag_and_its_standbys_lag() -> None:
    body = {
        "status": "ok",
        "databases": {
            "default": {"status": "ok"},
            "blog_db": {"status": "ok", "nodes": 2, "standby_lag_bytes": [0]},
            "shop_db": {"status": "ok", "nodes": 2, "standby_lag_bytes": [None]},
            "blog_replica": {"status": "ok", "replica": True, "lag_seconds": 0.2},
        },
    }

    line = _readyz().verdicts(json.dumps(body).encode())

    assert line == (
        "default ok, blog_db ok (2 nodes, standby lag 0 B), shop_db ok (2 nodes, standby lag unknown), "
        "blog_replica ok (replica, lag 0.2s)"
    )


def test_a_body_that_is_not_readyz_json_is_shown_truncated() -> None:
    assert _readyz().verdicts(b"<html>" + b"x" * 300) == "<html>" + "x" * 194
