"""Rehearse the release's migrations on clone servers of an environment's databases, never writing to them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import ProjectConfig
from ..routing import RoutingTable
from .clone_server import CloneServer, choose_image, docker_available, remove_leftovers, run_network
from .dump import DumpError, DumpTools, find_dump_tools, stop_dumps
from .errors import RehearsalError
from .migrate import MigrateRun, config_for_clones, plan_and_migrate
from .previous import release_tree, run_previous
from .report import AliasReport, Report
from .source import Snapshot, Source
from .steps import (
    Progress,
    check_sources,
    count_and_remove,
    dump_source,
    ready_aliases,
    record_migrate,
    start_clone_server,
    verify_source,
)
from .watch import Watch, WatchOptions


@dataclass(frozen=True)
class Options:
    databases: tuple[str, ...] = ()  # aliases to migrate; () = every migratable alias
    allow_writable_source: bool = False
    schema_only: bool = False
    jobs: int = 1  # migrate_all --jobs
    dump_jobs: int = 1  # > 1: directory format, pg_dump/pg_restore -j N
    image: str | None = None
    pg_tools: str = "auto"  # auto | host | container
    watch: WatchOptions = field(default_factory=WatchOptions)  # lock sampling, canary, thresholds
    previous_release: str | None = None  # a git ref or release directory run against the migrated clones


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
    """Dump every selected migratable alias (and the aliases holding their history) into its own clone server,
    run migrate_all --plan and migrate_all there, verify the sources are unchanged, remove the clone servers."""
    started = time.monotonic()
    report = _new_report(config, table, options, config_path)
    sources = {alias: _source(alias, config, databases[alias]) for alias in report.aliases}
    majors = check_sources(sources, report, options.allow_writable_source, progress)
    problem = docker_available()
    if problem:
        raise RehearsalError(f"Docker is not usable ({problem}); `make bootstrap` installs and starts it")
    images = {
        major: choose_image(major, options.image, base_dir / "build" / "images.env") for major in set(majors.values())
    }
    tools = {major: _dump_tools(major, options.pg_tools) for major in set(majors.values())}
    servers: dict[str, CloneServer] = {}
    cleanup = ExitStack()
    previous = options.previous_release
    tree = cleanup.enter_context(release_tree(base_dir, previous)) if previous else None
    pool = ThreadPoolExecutor(max_workers=max(1, 2 * len(majors)), thread_name_prefix="rehearsal")
    try:
        network = run_network(report.run_id)
        servers = {
            alias: CloneServer(alias, images[major], sources[alias].conninfo["dbname"], report.run_id, network)
            for alias, major in majors.items()
        }
        dump_tools = {alias: tools[major] for alias, major in majors.items()}
        befores = _start_and_dump(pool, sources, servers, dump_tools, options, report, progress)
        _migrate(config, table, servers, options, base_dir, report, progress, tree)
        _count_and_verify(pool, sources, servers, befores, report, progress)
    finally:
        # After an error or an interruption: stop pg_dump/pg_restore, remove what is left (a clone server still
        # starting fails at once then), let the threads end, and sweep anything labelled with the run.
        stop_dumps()
        pool.shutdown(wait=False, cancel_futures=True)
        _remove(servers, report)
        pool.shutdown(wait=True)
        report.leftovers = remove_leftovers(report.run_id)
        cleanup.close()
    report.seconds = time.monotonic() - started
    return report


def _start_and_dump(
    pool: ThreadPoolExecutor,
    sources: Mapping[str, Source],
    servers: Mapping[str, CloneServer],
    tools: Mapping[str, DumpTools],
    options: Options,
    report: Report,
    progress: Progress,
) -> dict[str, Snapshot | None]:
    """Start every clone server and dump each source into its own as soon as it answers; the sources' snapshots."""
    starting = {alias: pool.submit(start_clone_server, server, progress) for alias, server in servers.items()}
    dumping = {
        alias: pool.submit(
            dump_source,
            sources[alias],
            server,
            starting[alias],
            tools[alias],
            options.dump_jobs,
            options.schema_only,
            report,
            progress,
        )
        for alias, server in servers.items()
    }
    return {alias: future.result() for alias, future in dumping.items()}


def _count_and_verify(
    pool: ThreadPoolExecutor,
    sources: Mapping[str, Source],
    servers: Mapping[str, CloneServer],
    befores: Mapping[str, Snapshot | None],
    report: Report,
    progress: Progress,
) -> None:
    """Each clone server is removed as soon as its rows are counted, while the sources are read again."""
    tasks = [pool.submit(count_and_remove, s, report.aliases[s.alias], progress) for s in servers.values()]
    tasks += [
        pool.submit(verify_source, sources[a], before, report.aliases[a], progress) for a, before in befores.items()
    ]
    for task in tasks:
        task.result()


def _new_report(config: ProjectConfig, table: RoutingTable, options: Options, config_path: str) -> Report:
    """An empty report listing the aliases to clone: the selected migratable ones and those holding their history."""
    selected = [alias for alias in table.migratable if not options.databases or alias in options.databases]
    holders = {table.migratable[alias] for alias in selected}
    cloned = [alias for alias in table.aliases if alias in selected or alias in holders]
    return Report(
        run_id=uuid.uuid4().hex[:12],
        config=config_path,
        environment=config.environment,
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        schema_only=options.schema_only,
        aliases={alias: AliasReport(alias, alias in selected, table.migratable.get(alias)) for alias in cloned},
    )


def _source(alias: str, config: ProjectConfig, settings_dict: Mapping[str, Any]) -> Source:
    if config.databases[alias].short_engine != "postgresql":
        raise RehearsalError(
            f"{alias} is a {config.databases[alias].short_engine} database; rehearsals clone PostgreSQL only"
        )
    return Source.from_settings(alias, settings_dict)


def _dump_tools(major: int, where: str) -> DumpTools:
    try:
        return find_dump_tools(major, where)
    except DumpError as error:
        raise RehearsalError(str(error)) from None


def _migrate(
    config: ProjectConfig,
    table: RoutingTable,
    servers: Mapping[str, CloneServer],
    options: Options,
    base_dir: Path,
    report: Report,
    progress: Progress,
    tree: Path | None,
) -> None:
    """migrate_all --plan, then migrate_all, on the aliases whose clone and history clone are both there; then the
    previous release in `tree` (if any) against the migrated clones."""
    ready = ready_aliases(table, report)
    if not ready:
        return
    clones = {alias: servers[alias].settings() for alias, entry in report.aliases.items() if entry.status == "ok"}
    watch = Watch(config, servers, ready, options.watch)

    def on_plan(plan: MigrateRun) -> None:
        watch.plan = plan
        for alias in ready:
            steps = plan.aliases.get(alias, {}).get("steps", [])
            due = report.aliases[alias].plan = [step["migration"] for step in steps if not step["noop"]]
            progress(alias, f"plan: {len(due)} to apply{': ' + ', '.join(due) if due else ''}")

    def on_line(alias: str, message: str) -> None:
        watch.on_line(alias, message)
        progress(alias, f"migrate: {message}")

    try:
        watch.begin(report.aliases)
        plan, run = plan_and_migrate(
            config_for_clones(config, clones),
            ready,
            jobs=options.jobs,
            app_dir=base_dir / "app",
            on_plan=on_plan,
            on_line=on_line,
            on_start=watch.on_start,
        )
    finally:
        watch.finish()
    report.migrate_all_error = plan.error or run.error
    for alias in ready:
        record_migrate(report, alias, run.aliases.get(alias), progress)
    watch.record(report.aliases)
    migrated = [alias for alias in ready if report.aliases[alias].status == "ok"]
    if tree is not None and migrated:
        # As the app runs it: each alias as its runtime role (the owner where the clone has none).
        runtime = {alias: {**settings, **watch.runtime.get(alias, {})} for alias, settings in clones.items()}
        for alias, broken in run_previous(tree, config_for_clones(config, runtime), migrated).items():
            report.aliases[alias].findings += broken
            progress(alias, f"previous release: {f'{len(broken)} model access(es) broken' if broken else 'ok'}")


def _remove(servers: Mapping[str, CloneServer], report: Report) -> None:
    """Remove every clone server not removed yet (remove_leftovers() then sweeps anything labelled with the run)."""
    report.containers = [server.container_id for server in servers.values() if server.container_id]
    with ThreadPoolExecutor(max_workers=max(1, len(servers))) as pool:
        list(pool.map(lambda server: server.remove(), servers.values()))
