"""Filter multidb_restore_plan: a restore request checked against the repository, or the one line that refuses it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

SHOWN = "%Y-%m-%d %H:%M:%S+00"
TARGET = "%Y-%m-%d %H:%M:%S.%f+00"  # to the microsecond: a commit a fraction of a second before TIME is kept


def restore_plan(
    info: Iterable[Mapping[str, Any]],
    aliases: Iterable[str],
    requested: str | Iterable[str] = "",
    time: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """{target, aliases: {alias: {set, stop}}, all} or {error: one line}; `info` is `pgbackrest --output=json info`.

    Without `requested`, every alias; without `time`, now: every live server gets a commit after it and
    its WAL archived before it stops (restore_database.yml), so every alias can reach it. Each alias is
    restored from its newest backup that ended at or before the target.
    """
    now = now or datetime.now(UTC)
    known = list(aliases)
    chosen = requested.split() if isinstance(requested, str) else [str(a) for a in requested]
    unknown = [alias for alias in chosen if alias not in known]
    if unknown:
        return _error(f"restore_db: unknown alias {', '.join(unknown)}; aliases: {', '.join(known)}")
    target = now if not time.strip() else _parse(time)
    if isinstance(target, str):
        return _error(target)
    if target > now:
        return _error(f"restore_time: {time} is in the future (now {now.strftime(SHOWN)}); give a past time")
    backups = {stanza.get("name"): stanza.get("backup") or [] for stanza in info}
    plan: dict[str, Any] = {}
    for alias in chosen or known:
        sets = sorted(backups.get(alias, []), key=lambda b: b["timestamp"]["stop"])
        if not sets:
            return _error(
                f"{alias}: no backup in the repository; take one first (systemctl start pgbackrest-backup@full)"
            )
        earliest = datetime.fromtimestamp(sets[0]["timestamp"]["stop"], UTC)
        if target < earliest:
            return _error(
                f"restore_time: {target.strftime(SHOWN)} is before the earliest restorable time of {alias} "
                f"({earliest.strftime(SHOWN)}); give a later time"
            )
        usable = [b for b in sets if datetime.fromtimestamp(b["timestamp"]["stop"], UTC) <= target]
        plan[alias] = {"set": usable[-1]["label"], "stop": _shown(usable[-1]["timestamp"]["stop"])}
    return {
        "error": "",
        "target": target.strftime(TARGET),
        "aliases": plan,
        "all": not chosen or set(chosen) == set(known),
    }


def _parse(text: str) -> datetime | str:
    """An aware datetime in UTC, or the error line for text that is not an ISO time with its UTC offset."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return f"restore_time: {text!r} is not a time; write e.g. '2026-11-30 12:03:00+00'"
    if parsed.tzinfo is None:
        return f"restore_time: {text!r} has no UTC offset; add one, e.g. '{text.strip()}+00'"
    return parsed.astimezone(UTC)


def _shown(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime(SHOWN)


def _error(line: str) -> dict[str, Any]:
    return {"error": f"restore refused, nothing changed: {line}"}


class FilterModule:
    """Ansible's entry point for filter plugins."""

    def filters(self) -> dict[str, Any]:
        return {"multidb_restore_plan": restore_plan}
