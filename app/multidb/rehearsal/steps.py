"""The steps of a rehearsal that run once per alias: check the source, start, dump, count and remove, verify."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from ..routing import RoutingTable
from ..text import one_line
from .clone_server import SUPERUSER, CloneServer
from .dump import DumpTools, dump_and_restore
from .errors import RehearsalError
from .owner import recreate
from .report import AliasReport, Report
from .source import HISTORY_TABLES, Snapshot, Source, exported_snapshot, server_major, take_snapshot, write_access

# (alias, message); the message starts with the step as the terminal names it: source, container (the clone server),
# copy (the dump), plan, migrate. Those words are the command's interface; the code says clone server and dump.
Progress = Callable[[str, str], None]


def check_sources(
    sources: Mapping[str, Source], report: Report, allow_writable: bool, progress: Progress
) -> dict[str, int]:
    """Each reachable source's major version; refuse (before anything starts) any source the role can write."""
    majors: dict[str, int] = {}
    refusals: list[str] = []
    for alias, source in sources.items():
        entry = report.aliases[alias]
        entry.source = source.label
        try:
            with source.connect(read_only=False) as connection:  # read-only forced later, not here: probe defaults
                writable, guard = write_access(connection)
                major, entry.server_version = server_major(connection)
        except Exception as error:  # noqa: BLE001 - one unreachable source fails its alias only
            entry.fail(f"cannot read the source: {one_line(error)}")
            progress(alias, f"source: FAILED: {entry.error}")
            continue
        if not writable:
            entry.access = "read-only (the role holds no write privilege)"
        elif guard:
            entry.access = f"read-only ({guard})"
        else:
            entry.access = f"WRITABLE ({'; '.join(writable)})"
            entry.access += ", allowed by --allow-writable-source" if allow_writable else ""
            refusals.append(f"{alias} ({source.conninfo['user']}: {'; '.join(writable)})")
        majors[alias] = major
        progress(alias, f"source: {source.label}, PostgreSQL {entry.server_version}, {entry.access}")
    if refusals and not allow_writable:
        # "copy" as users say it (the wording is tested and documented in README)
        raise RehearsalError(
            f"refusing to copy from a connection that can write: {', '.join(refusals)}; connect with a read-only "
            "role (see README, 'Staging migration rehearsal'), or pass --allow-writable-source"
        )
    return majors


def start_clone_server(server: CloneServer, progress: Progress) -> None:
    started = time.monotonic()
    server.start()
    progress(
        server.alias,
        f"container: {server.image} on 127.0.0.1:{server.port}, ready in {time.monotonic() - started:.2f}s",
    )


def dump_source(
    source: Source,
    server: CloneServer,
    starting: Future[None],
    tools: DumpTools,
    dump_jobs: int,
    schema_only: bool,
    report: Report,
    progress: Progress,
) -> Snapshot | None:
    """Snapshot the source, dump it into its clone server in that same snapshot, check the clone holds every row;
    the snapshot, or None if the source could not be read."""
    entry = report.aliases[server.alias]
    entry.image = server.image
    before: Snapshot | None = None
    try:
        with source.connect() as connection, exported_snapshot(connection) as snapshot:
            before = take_snapshot(connection)
            try:
                starting.result()
            except Exception as error:
                raise RuntimeError(f"the clone server did not start: {one_line(error)}") from error
            entry.container = server.container_id
            with server.connect() as clone:
                roles = recreate(connection, clone, server.dbname)
            server.login = (roles.owner.role, roles.owner.password) if roles.owner else None
            entry.owner = roles.owner.role if roles.owner else SUPERUSER
            # --schema-only still dumps the migration history: without it every migration would look due.
            history = [name for name in before.rows if name.removeprefix("public.") in HISTORY_TABLES]
            without_rows = [name for name in before.rows if name not in history] if schema_only else []
            result = dump_and_restore(
                source,
                server,
                tools,
                snapshot=snapshot,
                jobs=dump_jobs,
                without_rows=without_rows,
                run_id=report.run_id,
            )
        entry.copy_method, entry.seconds["copy"] = f"{result.method}, tools {tools.description}", result.seconds
        with server.connect() as connection:
            restored = take_snapshot(connection)
        entry.rows = {t: {"source": n, "before": restored.rows.get(t), "after": None} for t, n in before.rows.items()}
        missing = [t for t, n in before.rows.items() if restored.rows.get(t) != (0 if t in without_rows else n)]
        if missing:
            raise RuntimeError(f"the clone's rows differ from the source snapshot's in {', '.join(missing)}")
        rows = sum(before.rows.values())
        progress(
            server.alias, f"copy: {rows:,} rows in {len(before.rows)} tables, {result.seconds:.2f}s ({result.method})"
        )
        entry.status = "ok"
    except Exception as error:  # noqa: BLE001 - one alias's failed dump does not stop the others
        entry.fail(one_line(error))
        progress(server.alias, f"copy: FAILED: {entry.error}")
    return before


def count_and_remove(server: CloneServer, entry: AliasReport, progress: Progress) -> None:
    """The clone's rows per table after migrate_all, then the clone server is removed."""
    try:
        if entry.rows:
            with server.connect() as connection:
                after = take_snapshot(connection).rows
            for name in sorted(set(after) - set(entry.rows)):
                entry.rows[name] = {"source": None, "before": None, "after": None}
            for name, counts in entry.rows.items():
                counts["after"] = after.get(name)
    finally:
        server.remove()
        removed = "container: removed" if server.removed else "container: NOT removed (swept by label later)"
        progress(server.alias, removed)


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


def ready_aliases(table: RoutingTable, report: Report) -> list[str]:
    """The migrated aliases whose clone and history clone are both there; the others fail here."""
    ready = []
    for alias in table.migratable:  # migrate_all's order
        entry = report.aliases.get(alias)
        if entry is None or not entry.migrated:
            continue
        holder = report.aliases[table.migratable[alias]]
        if entry.status == "ok" and holder.status != "ok":
            entry.fail(f"not migrated: the clone of {holder.alias}, which holds its history, failed")
        elif entry.status == "ok":
            ready.append(alias)
    return ready


def record_migrate(report: Report, alias: str, result: dict[str, Any] | None, progress: Progress) -> None:
    """One alias's part of migrate_all's JSON report, into its entry."""
    entry = report.aliases[alias]
    if result is None:
        entry.fail(f"migrate_all did not run: {report.migrate_all_error}")
        return
    entry.migrations = [
        {"migration": s["migration"], "seconds": s["seconds"]} for s in result["steps"] if not s["noop"]
    ]
    entry.seconds["migrate"] = result["seconds"]
    if result["status"] == "failed":
        entry.fail(result["reason"], result["failed_migration"])
        progress(alias, f"migrate: FAILED in {result['failed_migration'] or '?'}: {result['reason']}")
    else:
        progress(alias, f"migrate: ok, {len(entry.migrations)} applied in {result['seconds']:.2f}s")
