"""The Markdown of what a rehearsal observed and found: the summary table, and per alias findings and figures."""

from __future__ import annotations

from typing import Any

from .checks import DANGEROUS, INCOMPATIBLE


def summary_table(entries: list[Any]) -> list[str]:
    """One row per migrated alias: result, findings by level, the worst lock and wait, WAL and size."""
    lines = [
        "| alias | result | migrations | dangerous | incompatible | longest blocking lock | canary: longest wait, "
        "timeouts | WAL | size before -> after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in entries:
        if not entry.migrated:
            continue
        levels = [sum(f["severity"] == level for f in entry.findings) for level in (DANGEROUS, INCOMPATIBLE)]
        figures = entry.figures
        size = f"{_mb(figures.get('size_before'))} -> {_mb(figures.get('size_after'))}" if figures else "-"
        lines.append(
            f"| {entry.alias} | {'ok' if entry.status == 'ok' else '**failed**'} | {len(entry.migrations)} "
            f"| {levels[0]} | {levels[1]} | {_longest_lock(entry)} | {_longest_wait(entry)} "
            f"| {_mb(figures.get('wal_bytes'))} | {size} |"
        )
    return lines


def alias_details(entry: Any) -> list[str]:
    """Findings (each with its fix), then per migration: duration, WAL, locks, long statements, canary."""
    lines: list[str] = []
    for what, error in (("lock sampler", entry.sampler_error), ("canary", entry.canary_error)):
        if error:
            lines += ["", f"- The {what} stopped early: `{error}`"]
    if entry.findings:
        lines += ["", "| migration | level | finding | safe alternative |", "|---|---|---|---|"]
        for f in entry.findings:
            lines.append(f"| {f['migration']} | {f['severity']} | `{f['rule']}`: {f['detail']} | {f['fix']} |")
    elif entry.migrated and entry.migrations:
        lines += ["", "No findings."]
    for migration, seen in entry.observed.items():
        canary = seen.get("canary") or {}
        traffic = (
            f"; canary: {canary['queries']} queries, longest wait {canary['longest_wait']:.3f}s"
            f" ({canary['longest_table']}), {canary['timeouts']} timed out, {canary['errors']} errors"
            if canary
            else ""
        )
        lines += ["", f"### {migration}", "", f"{seen['seconds']:.3f}s, WAL {seen['wal_bytes']:,} bytes{traffic}"]
        named = [lock for lock in seen["locks"] if not lock["relation"].isdigit()]  # digits: created by it
        if named:
            lines += ["", "| relation | lock | held (s) | rows | bytes |", "|---|---|---|---|---|"]
            for lock in named[:12]:
                waited = "" if lock["granted"] else " (waited)"
                lines.append(
                    f"| {lock['relation']} | {lock['mode']}{waited} | {lock['held_seconds']:.3f} "
                    f"| {_n(lock['rows'])} | {_n(lock['size_bytes'])} |"
                )
        if seen["statements"]:
            lines.append("")
        for statement in seen["statements"][:5]:
            lines.append(f"- {statement['seconds']:.3f}s `{statement['query'][:160]}`")
    return lines


def _longest_lock(entry: Any) -> str:
    from .findings import BLOCKING

    locks = [
        (lock["held_seconds"], lock["mode"], lock["relation"], migration)
        for migration, seen in entry.observed.items()
        for lock in seen["locks"]
        if lock["granted"] and lock["table"] and lock["mode"] in BLOCKING
    ]
    if not locks:
        return "-"
    seconds, mode, relation, migration = max(locks)
    return f"{mode.removesuffix('Lock')} on {relation} {seconds:.2f}s ({migration})"


def _longest_wait(entry: Any) -> str:
    waits = [seen["canary"] for seen in entry.observed.values() if seen.get("canary")]
    if not waits:
        return "-"
    return f"{max(w['longest_wait'] for w in waits):.2f}s, {sum(w['timeouts'] for w in waits)}"


def _mb(value: int | None) -> str:
    return "-" if value is None else f"{value / 1_048_576:.1f} MB"


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
