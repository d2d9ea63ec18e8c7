"""The last `migrate_all` run, kept in a table of `default` so the app can show what the migrate job did."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.apps.registry import Apps
from django.db import DatabaseError, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.timezone import now

from .history import sqlite_file_missing

TABLE = "multidb_migrate_run"
ALIAS = "default"  # where the app can always read it; the migrate job (another container) writes it


class MigrateRun(models.Model):
    finished = models.DateTimeField(default=now)
    ok = models.BooleanField()
    seconds = models.FloatField()
    aliases = models.TextField()  # JSON: [{"alias", "status", "applied", "reason"}]
    objects: models.Manager[MigrateRun] = models.Manager()

    class Meta:
        apps = Apps()  # private registry: not an app, no migration, never routed
        app_label = "multidb_status"
        db_table = TABLE


@dataclass
class LastRun:
    finished: datetime
    ok: bool
    seconds: float
    aliases: list[dict[str, Any]]


def record_run(results: list[Any], seconds: float) -> None:
    """Store one finished run (AliasResult list); creates the table on first use."""
    connection = connections[ALIAS]
    if sqlite_file_missing(connection):
        return
    with connection.cursor() as cursor:
        exists = TABLE in connection.introspection.table_names(cursor)
    if not exists:
        with connection.schema_editor() as editor:
            editor.create_model(MigrateRun)
    aliases = [
        {
            "alias": result.alias,
            "status": result.status,
            "applied": len(result.applied),
            "reason": result.reason or "",
        }
        for result in results
    ]
    MigrateRun.objects.using(ALIAS).create(
        ok=all(result.status != "failed" for result in results), seconds=round(seconds, 3), aliases=json.dumps(aliases)
    )


def read_last_run(connection: BaseDatabaseWrapper | None = None) -> LastRun | None:
    """The newest recorded run, or None when there is none (or it cannot be read).

    `connection` is a connection to `default` (the status page passes its health probe's; default: Django's).
    """
    connection = connection or connections[ALIAS]
    try:
        if sqlite_file_missing(connection):
            return None
        with connection.cursor() as cursor:
            if TABLE not in connection.introspection.table_names(cursor):
                return None
            cursor.execute(f"SELECT finished, ok, seconds, aliases FROM {TABLE} ORDER BY id DESC LIMIT 1")  # noqa: S608
            row = cursor.fetchone()
    except DatabaseError:
        return None
    if row is None:
        return None
    finished, ok, seconds, aliases = row
    if isinstance(finished, str):  # SQLite keeps UTC as text
        finished = datetime.fromisoformat(finished).replace(tzinfo=UTC)
    return LastRun(finished, bool(ok), float(seconds), json.loads(aliases))
