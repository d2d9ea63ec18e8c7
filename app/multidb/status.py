"""The statuses reported per alias, as string enums: JSON and text output print their plain values."""

from __future__ import annotations

from enum import StrEnum


class MigrateStatus(StrEnum):
    """One alias's outcome in migrate_all (and in the rehearsal's migrate step)."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


class HealthStatus(StrEnum):
    """One alias's answer to /readyz and dbhealth."""

    OK = "ok"
    DOWN = "down"
    UNMIGRATED = "unmigrated"
    SCHEMA_MISSING = "schema missing"  # the history says applied, but tables of those migrations are gone
    TIMEOUT = "timeout"
    DEGRADED = "degraded"  # a replica lagging beyond the limit; reads avoid it


class Readiness(StrEnum):
    """The overall /readyz answer."""

    OK = "ok"
    UNAVAILABLE = "unavailable"
