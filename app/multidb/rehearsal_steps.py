"""The steps of a rehearsal that run once per alias, each in its own thread: start, copy, count, verify."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future

from .rehearsal_copies import Copy
from .rehearsal_dump import Tools, copy_database
from .rehearsal_report import AliasReport, Report
from .rehearsal_source import HISTORY_TABLES, Snapshot, Source, exported_snapshot, take_snapshot
from .text import one_line

Progress = Callable[[str, str], None]  # (alias, message)


def start_copy(copy: Copy, progress: Progress) -> None:
    started = time.monotonic()
    copy.start()
    progress(
        copy.alias, f"container: {copy.image} on 127.0.0.1:{copy.port}, ready in {time.monotonic() - started:.2f}s"
    )


def make_copy(
    source: Source,
    copy: Copy,
    starting: Future[None],
    tools: Tools,
    dump_jobs: int,
    schema_only: bool,
    report: Report,
    progress: Progress,
) -> Snapshot | None:
    """Snapshot the source, copy it in that same snapshot, check the copy holds every row; None if unread."""
    entry = report.aliases[copy.alias]
    entry.image = copy.image
    before: Snapshot | None = None
    try:
        with source.connect() as connection, exported_snapshot(connection) as snapshot:
            before = take_snapshot(connection)
            try:
                starting.result()
            except Exception as error:
                raise RuntimeError(f"copy container did not start: {one_line(error)}") from error
            entry.container = copy.container_id
            # --schema-only still copies the migration history: without it every migration would look due.
            history = [name for name in before.rows if name.removeprefix("public.") in HISTORY_TABLES]
            without_rows = [name for name in before.rows if name not in history] if schema_only else []
            result = copy_database(
                source,
                copy,
                tools,
                snapshot=snapshot,
                jobs=dump_jobs,
                without_rows=without_rows,
                run_id=report.run_id,
            )
        entry.copy_method, entry.seconds["copy"] = f"{result.method}, tools {tools.description}", result.seconds
        with copy.connect() as connection:
            restored = take_snapshot(connection)
        entry.rows = {t: {"source": n, "before": restored.rows.get(t), "after": None} for t, n in before.rows.items()}
        missing = [t for t, n in before.rows.items() if restored.rows.get(t) != (0 if t in without_rows else n)]
        if missing:
            raise RuntimeError(f"the copy's rows differ from the source snapshot's in {', '.join(missing)}")
        rows = sum(before.rows.values())
        progress(
            copy.alias, f"copy: {rows:,} rows in {len(before.rows)} tables, {result.seconds:.2f}s ({result.method})"
        )
        entry.status = "ok"
    except Exception as error:  # noqa: BLE001 - one alias's failed copy does not stop the others
        entry.fail(one_line(error))
        progress(copy.alias, f"copy: FAILED: {entry.error}")
    return before


def count_and_remove(copy: Copy, entry: AliasReport, progress: Progress) -> None:
    """The copy's rows per table after migrate_all, then the copy is removed."""
    try:
        if entry.rows:
            with copy.connect() as connection:
                after = take_snapshot(connection).rows
            for name in sorted(set(after) - set(entry.rows)):
                entry.rows[name] = {"source": None, "before": None, "after": None}
            for name, counts in entry.rows.items():
                counts["after"] = after.get(name)
    finally:
        copy.remove()
        progress(copy.alias, "container: removed" if copy.removed else "container: NOT removed (swept by label later)")


def verify_source(source: Source, before: Snapshot | None, entry: AliasReport, progress: Progress) -> None:
    """Read the source again: its recorded migrations and rows per table must be as in the dumped snapshot."""
    if before is None:
        return
    try:
        with source.connect() as connection:
            entry.source_changes = before.differences(take_snapshot(connection))
    except Exception as error:  # noqa: BLE001 - reported as "not verified"
        entry.source_changes = [f"could not re-read the source: {one_line(error)}"]
        return
    entry.source_unchanged = not entry.source_changes
    verdict = "unchanged" if entry.source_unchanged else "CHANGED: " + "; ".join(entry.source_changes)
    progress(entry.alias, f"source: {verdict} (recorded migrations and rows per table)")
