"""What a rehearsal found, per alias, and its two renderings: JSON for machines, Markdown for people."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .report_watch import alias_details, summary_table

# Keys and wording are an interface (scripts, the Ansible role, README): the report says "copy" for the database
# in a clone server and for its dump, as users do; the code says clone server and dump.


@dataclass
class AliasReport:
    """One alias: its source, its clone server and dump, what migrate_all did there and how long each step took.

    The field names are the JSON report's keys, read by scripts and the Ansible role: keep them.
    """

    alias: str
    migrated: bool  # False: cloned only because it holds a migrated alias's history (migrate_to)
    history: str | None = None
    source: str = ""  # "dbname on host:port"
    server_version: str = ""
    access: str = ""  # how the source was found read-only (or that writing was allowed)
    image: str = ""  # the clone server's
    container: str | None = None  # the clone server's container id
    copy_method: str = ""  # how the dump was made (pg_dump/pg_restore formats, where they ran)
    owner: str = ""  # the source's role recreated in the copy that migrate_all ran as
    status: str = "pending"  # ok | failed | pending (not reached)
    error: str | None = None
    failed_migration: str | None = None
    plan: list[str] = field(default_factory=list)  # this alias's own migrations due, in order
    migrations: list[dict[str, Any]] = field(default_factory=list)  # {migration, seconds}, applied in order
    seconds: dict[str, float] = field(default_factory=dict)  # "copy" (the dump) and "migrate" -> seconds
    rows: dict[str, dict[str, int | None]] = field(default_factory=dict)  # table -> source, clone before/after
    source_unchanged: bool | None = None  # None: not verified (never snapshotted)
    source_changes: list[str] = field(default_factory=list)
    # What the clone showed while migrating (watch.py): migration -> seconds, wal_bytes, locks, statements, canary
    observed: dict[str, dict[str, Any]] = field(default_factory=dict)
    figures: dict[str, int] = field(default_factory=dict)  # wal_bytes, size_before, size_after (the whole run)
    findings: list[dict[str, Any]] = field(default_factory=list)  # kind, rule, severity, migration, detail, fix
    canary_role: str | None = None  # the role the canary traffic ran as (None: no canary)
    canary_error: str | None = None
    sampler_error: str | None = None  # the lock sampler stopped early (the locks listed are partial)

    def fail(self, error: str, migration: str | None = None) -> None:
        self.status, self.error, self.failed_migration = "failed", error, migration


@dataclass
class Report:
    run_id: str
    config: str
    environment: str
    started: str  # ISO 8601, UTC
    schema_only: bool
    aliases: dict[str, AliasReport]
    seconds: float = 0.0
    migrate_all_error: str | None = None  # migrate_all could not run at all (e.g. models without migrations)
    containers: list[str] = field(default_factory=list)  # every clone server started, all removed at the end
    leftovers: list[str] = field(default_factory=list)  # containers that could not be removed

    @property
    def ok(self) -> bool:
        return all(entry.status == "ok" for entry in self.aliases.values()) and not self.migrate_all_error

    @property
    def failed(self) -> list[AliasReport]:
        return [entry for entry in self.aliases.values() if entry.status != "ok"]

    @property
    def findings(self) -> list[dict[str, Any]]:
        """Every alias's findings, each naming its alias."""
        return [{"alias": e.alias, **f} for e in self.aliases.values() for f in e.findings]

    @property
    def source_unchanged(self) -> bool:
        return all(entry.source_unchanged for entry in self.aliases.values())

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = _rounded(asdict(self))
        data.update(ok=self.ok, source_unchanged=self.source_unchanged)
        return data

    def as_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def as_markdown(self) -> str:
        verdict = "would succeed" if self.ok else "would FAIL on " + ", ".join(e.alias for e in self.failed)
        kind = "schema only (no rows copied)" if self.schema_only else "schema and data"
        lines = [
            f"# Migration rehearsal: {self.environment}",
            "",
            *summary_table(list(self.aliases.values())),
            "",
            f"- Verdict: **migrate_all {verdict}**",
            f"- Config: `{self.config}`; copies: {kind}; started {self.started}; total {self.seconds:.1f}s",
            f"- Source untouched: {_untouched(self)}",
            f"- Containers: {len(self.containers)} started, "
            + (f"**{len(self.leftovers)} left behind**" if self.leftovers else "all removed"),
        ]
        if self.migrate_all_error:
            lines.append(f"- migrate_all could not run: `{self.migrate_all_error}`")
        lines += ["", "| alias | result | migrations | copy | migrate |", "|---|---|---|---|---|"]
        for entry in self.aliases.values():
            lines.append(
                f"| {entry.alias} | {_result(entry)} | {len(entry.migrations) if entry.migrated else '-'} "
                f"| {_secs(entry.seconds.get('copy'))} | {_secs(entry.seconds.get('migrate'))} |"
            )
        for entry in self.aliases.values():
            lines += ["", *_alias_section(entry)]
        return "\n".join(lines) + "\n"


def _alias_section(entry: AliasReport) -> list[str]:
    history = f"; history in {entry.history}" if entry.history and entry.history != entry.alias else ""
    role = "" if entry.migrated else " (copied for the history it holds; not migrated here)"
    lines = [
        f"## {entry.alias}{role}",
        "",
        f"- Source: {entry.source}, PostgreSQL {entry.server_version or '?'}; {entry.access}{history}",
        f"- Copy: {entry.image}, {entry.copy_method or 'not made'}; migrated as {entry.owner or '?'}",
    ]
    if entry.error:
        where = f" in `{entry.failed_migration}`" if entry.failed_migration else ""
        lines.append(f"- **Failed{where}**: `{entry.error}`")
    if entry.migrated:
        lines += ["", "| migration | seconds |", "|---|---|"]
        lines += [f"| {step['migration']} | {step['seconds']:.3f} |" for step in entry.migrations]
        for name in entry.plan[len(entry.migrations) :]:
            lines.append(f"| {name} | {'**failed**' if name == entry.failed_migration else 'not reached'} |")
        if not entry.plan:
            lines.append("| (nothing to apply) | |")
    lines += alias_details(entry)
    if entry.rows:
        lines += ["", "| table | source rows | copy before | copy after |", "|---|---|---|---|"]
        for table, counts in entry.rows.items():
            lines.append(f"| {table} | {_n(counts['source'])} | {_n(counts['before'])} | {_n(counts['after'])} |")
    return lines


def _rounded(value: Any) -> Any:
    """Durations to the millisecond: the JSON is for reading and diffing, not for nanoseconds."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


def _result(entry: AliasReport) -> str:
    if entry.status == "failed":
        return f"**failed**{f' in {entry.failed_migration}' if entry.failed_migration else ''}"
    return entry.status


def _untouched(report: Report) -> str:
    if report.source_unchanged:
        return "yes: migration history and row counts of every copied database are as before the rehearsal"
    changed = [
        f"{e.alias} ({'; '.join(e.source_changes) or 'not verified'})"
        for e in report.aliases.values()
        if not e.source_unchanged
    ]
    return "**changed or not verified** - " + ", ".join(changed) + " (the rehearsal's own sessions were read-only)"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
