"""Rehearse the release's migrations on throwaway copies of an environment's databases, never writing to them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import ProjectConfig
from .rehearsal_copies import Copy, RehearsalError, choose_image, docker_available, remove_leftovers, run_network
from .rehearsal_dump import CopyError, Tools, find_tools, stop_copies
from .rehearsal_migrate import MigrateRun, copy_config, plan_and_migrate
from .rehearsal_report import AliasReport, Report
from .rehearsal_source import Snapshot, Source, server_major, write_access
from .rehearsal_steps import Progress, count_and_remove, make_copy, start_copy, verify_source
from .routing import RoutingTable
from .text import one_line


@dataclass(frozen=True)
class Options:
    databases: tuple[str, ...] = ()  # aliases to migrate; () = every migratable alias
    allow_writable_source: bool = False
    schema_only: bool = False
    jobs: int = 1  # migrate_all --jobs
    dump_jobs: int = 1  # > 1: directory format, pg_dump/pg_restore -j N
    image: str | None = None
    pg_tools: str = "auto"  # auto | host | container


def rehearse(
    config: ProjectConfig,
    table: RoutingTable,
    databases: Mapping[str, Mapping[str, Any]],
    *,
    config_path: str,
    base_dir: Path,
    options: Options = Options(),
    progress: Progress = lambda alias, message: None,
) -> Report:
    """Copy every selected migratable alias (and the aliases holding their history) into its own container,
    run migrate_all --plan and migrate_all on the copies, verify the sources are unchanged, remove the copies."""
    started = time.monotonic()
    selected = [alias for alias in table.migratable if not options.databases or alias in options.databases]
    holders = {table.migratable[alias] for alias in selected}
    copied = [alias for alias in table.aliases if alias in selected or alias in holders]
    report = Report(
        run_id=uuid.uuid4().hex[:12],
        config=config_path,
        environment=config.environment,
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        schema_only=options.schema_only,
        aliases={alias: AliasReport(alias, alias in selected, table.migratable.get(alias)) for alias in copied},
    )
    sources = {alias: _source(alias, config, databases[alias]) for alias in copied}
    majors = _check_sources(sources, report, options.allow_writable_source, progress)
    problem = docker_available()
    if problem:
        raise RehearsalError(f"Docker is not usable ({problem}); `make bootstrap` installs and starts it")
    images = {
        major: choose_image(major, options.image, base_dir / "build" / "images.env") for major in set(majors.values())
    }
    tools = {major: _tools(major, options.pg_tools) for major in set(majors.values())}
    befores: dict[str, Snapshot | None] = {}
    copies: dict[str, Copy] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, 2 * len(majors)), thread_name_prefix="rehearsal")
    try:
        network = run_network(report.run_id)
        copies = {
            alias: Copy(alias, images[major], sources[alias].conninfo["dbname"], report.run_id, network)
            for alias, major in majors.items()
        }
        starting = {alias: pool.submit(start_copy, copy, progress) for alias, copy in copies.items()}
        copying = {
            alias: pool.submit(
                make_copy,
                sources[alias],
                copy,
                starting[alias],
                tools[majors[alias]],
                options.dump_jobs,
                options.schema_only,
                report,
                progress,
            )
            for alias, copy in copies.items()
        }
        befores = {alias: future.result() for alias, future in copying.items()}
        _migrate(config, table, selected, copies, options, base_dir, report, progress)
        # Each copy is removed as soon as its rows are counted, while the sources are read again.
        tasks = [pool.submit(count_and_remove, copy, report.aliases[copy.alias], progress) for copy in copies.values()]
        tasks += [
            pool.submit(verify_source, sources[a], before, report.aliases[a], progress) for a, before in befores.items()
        ]
        for task in tasks:
            task.result()
    finally:
        # After an error or an interruption: stop pg_dump/pg_restore, remove what is left (a copy still
        # starting fails at once then), let the threads end, and sweep anything labelled with the run.
        stop_copies()
        pool.shutdown(wait=False, cancel_futures=True)
        _remove(copies, report)
        pool.shutdown(wait=True)
        report.leftovers = remove_leftovers(report.run_id)
    report.seconds = time.monotonic() - started
    return report


def _source(alias: str, config: ProjectConfig, settings_dict: Mapping[str, Any]) -> Source:
    if config.databases[alias].short_engine != "postgresql":
        raise RehearsalError(
            f"{alias} is a {config.databases[alias].short_engine} database; rehearsals copy PostgreSQL only"
        )
    return Source.from_settings(alias, settings_dict)


def _check_sources(
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
        raise RehearsalError(
            f"refusing to copy from a connection that can write: {', '.join(refusals)}; connect with a read-only "
            "role (see README, 'Staging migration rehearsal'), or pass --allow-writable-source"
        )
    return majors


def _tools(major: int, where: str) -> Tools:
    try:
        return find_tools(major, where)
    except CopyError as error:
        raise RehearsalError(str(error)) from None


def _migrate(
    config: ProjectConfig,
    table: RoutingTable,
    selected: list[str],
    copies: Mapping[str, Copy],
    options: Options,
    base_dir: Path,
    report: Report,
    progress: Progress,
) -> None:
    """migrate_all --plan, then migrate_all, on the aliases whose copy and history copy are both there."""
    ready = []
    for alias in selected:
        entry, holder = report.aliases[alias], report.aliases[table.migratable[alias]]
        if entry.status == "ok" and holder.status != "ok":
            entry.fail(f"not migrated: the copy of {holder.alias}, which holds its history, failed")
        elif entry.status == "ok":
            ready.append(alias)
    if not ready:
        return
    copied = {alias: copies[alias].settings() for alias, entry in report.aliases.items() if entry.status == "ok"}
    settings = copy_config(config, copied)

    def on_plan(plan: MigrateRun) -> None:
        for alias in ready:
            steps = plan.aliases.get(alias, {}).get("steps", [])
            due = report.aliases[alias].plan = [step["migration"] for step in steps if not step["noop"]]
            progress(alias, f"plan: {len(due)} to apply{': ' + ', '.join(due) if due else ''}")

    def on_line(alias: str, message: str) -> None:
        progress(alias, f"migrate: {message}")

    app_dir = base_dir / "app"
    plan, run = plan_and_migrate(settings, ready, jobs=options.jobs, app_dir=app_dir, on_plan=on_plan, on_line=on_line)
    report.migrate_all_error = plan.error or run.error
    for alias in ready:
        entry, result = report.aliases[alias], run.aliases.get(alias)
        if result is None:
            entry.fail(f"migrate_all did not run: {report.migrate_all_error}")
            continue
        entry.migrations = [
            {"migration": s["migration"], "seconds": s["seconds"]} for s in result["steps"] if not s["noop"]
        ]
        entry.seconds["migrate"] = result["seconds"]
        if result["status"] == "failed":
            entry.fail(result["reason"], result["failed_migration"])
            progress(alias, f"migrate: FAILED in {result['failed_migration'] or '?'}: {result['reason']}")
        else:
            progress(alias, f"migrate: ok, {len(entry.migrations)} applied in {result['seconds']:.2f}s")


def _remove(copies: Mapping[str, Copy], report: Report) -> None:
    """Remove every copy not removed yet (remove_leftovers() then sweeps anything else labelled with the run)."""
    report.containers = [copy.container_id for copy in copies.values() if copy.container_id]
    with ThreadPoolExecutor(max_workers=max(1, len(copies))) as pool:
        list(pool.map(lambda copy: copy.remove(), copies.values()))
