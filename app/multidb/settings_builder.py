"""Derive Django's DATABASES entries from the validated config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import DatabaseConfig, ProjectConfig


def django_databases(config: ProjectConfig, base_dir: Path) -> dict[str, dict[str, Any]]:
    """One DATABASES entry per alias, `default` first; SQLite paths are relative to `base_dir`."""
    ordered = sorted(config.databases.items(), key=lambda item: item[0] != "default")
    return {alias: _database(db, base_dir) for alias, db in ordered}


def _database(db: DatabaseConfig, base_dir: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "ENGINE": db.engine,
        "NAME": db.name,
        "USER": db.user,
        "PASSWORD": db.password.get_secret_value(),
        "HOST": db.host,
        "PORT": str(db.effective_port or ""),
        "OPTIONS": _options(db),
        "CONN_MAX_AGE": db.conn_max_age,
        "CONN_HEALTH_CHECKS": db.conn_health_checks,
    }
    if db.short_engine == "sqlite3" and db.name != ":memory:":
        entry["NAME"] = str((base_dir / db.name).resolve())
    return entry


def _options(db: DatabaseConfig) -> dict[str, Any]:
    options = dict(db.options)
    # libpq has no statement_timeout keyword; django-cfg's users write it as an option anyway.
    if db.short_engine == "postgresql" and "statement_timeout" in options:
        timeout = options.pop("statement_timeout")
        options["options"] = f"{options.get('options', '')} -c statement_timeout={timeout}".strip()
    return options
