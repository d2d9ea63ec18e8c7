"""ansible/filter_plugins/multidb_restore.py: a restore request checked against `pgbackrest info` first."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest

from tests.e2e.ansible_hosts.throwaway import ANSIBLE_DIR

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ALIASES = ["default", "blog_db", "shop_db"]


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "multidb_restore", ANSIBLE_DIR / "filter_plugins" / "multidb_restore.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


RESTORE = _module()


def _backup(label: str, stop: str) -> dict[str, Any]:
    epoch = int(datetime.fromisoformat(stop).timestamp())
    return {"label": label, "timestamp": {"start": epoch - 5, "stop": epoch}}


# Every alias: a full backup at 10:00 and an incremental at 11:00.
INFO = [
    {
        "name": alias,
        "backup": [_backup(f"{alias}-F", "2026-11-30 10:00:00+00"), _backup(f"{alias}-I", "2026-11-30 11:00:00+00")],
    }
    for alias in ALIASES
]


def plan(requested: str = "", time: str = "", info: list[dict[str, Any]] = INFO) -> dict[str, Any]:
    result: dict[str, Any] = RESTORE.restore_plan(info, ALIASES, requested, time, NOW)
    return result


def test_every_alias_gets_the_same_target_and_its_newest_backup_before_it() -> None:
    result = plan(time="2026-11-30 10:30:00+00")
    assert result["error"] == "" and result["all"] is True
    assert result["target"] == "2026-11-30 10:30:00.000000+00"
    assert {alias: p["set"] for alias, p in result["aliases"].items()} == {a: f"{a}-F" for a in ALIASES}


def test_without_a_time_the_target_is_now_and_the_newest_backup_is_used() -> None:
    result = plan()
    assert result["target"] == "2026-11-30 12:00:00.000000+00"
    assert result["aliases"]["shop_db"]["set"] == "shop_db-I"


def test_an_offset_is_converted_to_utc_and_one_alias_is_not_all() -> None:
    result = plan("shop_db", "2026-11-30T12:30:00.25+01:00")
    assert result["target"] == "2026-11-30 11:30:00.250000+00"
    assert list(result["aliases"]) == ["shop_db"] and result["all"] is False


@pytest.mark.parametrize(
    ("requested", "time", "info", "line"),
    [
        ("", "2026-11-30 09:00:00+00", INFO,
         "is before the earliest restorable time of default (2026-11-30 10:00:00+00); give a later time"),
        ("", "2026-11-30 13:00:00+00", INFO, "restore_time: 2026-11-30 13:00:00+00 is in the future"),
        ("", "yesterday", INFO, "restore_time: 'yesterday' is not a time; write e.g. '2026-11-30 12:03:00+00'"),
        ("", "2026-11-30 10:30:00", INFO, "has no UTC offset; add one"),
        ("blog_db shop", "", INFO, "restore_db: unknown alias shop; aliases: default, blog_db, shop_db"),
        ("", "", INFO[:2], "shop_db: no backup in the repository; take one first"),
    ],
    ids=["before-earliest", "future", "unparsable", "naive", "unknown-alias", "no-backup"],
)  # fmt: skip
def test_a_bad_request_is_refused_with_one_line(
    requested: str, time: str, info: list[dict[str, Any]], line: str
) -> None:
    error = plan(requested, time, info)["error"]
    assert error.startswith("restore refused, nothing changed: ")
    assert line in error and "\n" not in error
