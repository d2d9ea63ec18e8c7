"""Run migrate_all (--plan, then for real) against the copies, as the release's deploy would run it."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ProjectConfig

# migrate_all's live progress line: "  <alias>: applied <app.migration> (<seconds>s)".
_PROGRESS = re.compile(r"^\s+(?P<alias>[a-z][a-z0-9_]*): (?P<message>.+)$")


@dataclass
class MigrateRun:
    """migrate_all's JSON report (aliases by name), or why there is none."""

    aliases: dict[str, dict[str, Any]]
    error: str | None  # set when migrate_all stopped before migrating (exit 2: bad config, missing migrations)


def copy_config(config: ProjectConfig, copies: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The environment's config with each copied alias pointing at its copy; apps, operations and migrate_to
    unchanged, so routing and history placement are the release's. Aliases not copied (replicas...) point
    at a closed loopback port, so nothing can reach the real servers through this file."""
    data = config.model_dump(mode="json")
    data["secret_key"] = secrets.token_hex(32)
    # Development configs would let migrate_all write migration files: a rehearsal never does.
    data["environment"] = "test" if config.is_development else config.environment
    for alias, db in data["databases"].items():
        db["options"] = {key: value for key, value in db["options"].items() if not key.startswith("ssl")}
        if alias in copies:
            db.update(copies[alias])
        elif config.databases[alias].short_engine == "sqlite3":
            db.update(name=":memory:")
        else:
            db.update(host="127.0.0.1", port=1, password=secrets.token_hex(16))
    return data


def run_migrate_all(
    config: dict[str, Any],
    aliases: Iterable[str],
    *,
    plan: bool,
    jobs: int,
    manage_py: Path,
    on_line: Callable[[str, str], None] = lambda alias, message: None,
) -> MigrateRun:
    """`manage.py migrate_all` in a child process on `config` (YAML is a superset of JSON), under the same
    settings module as this process, so a test's or a release's migrations are the ones rehearsed."""
    with tempfile.TemporaryDirectory(prefix="rehearsal-") as workdir:
        config_file, report_file = Path(workdir) / "copies.yaml", Path(workdir) / "migrate_all.json"
        config_file.write_text(json.dumps(config))
        config_file.chmod(0o600)  # the copies' passwords
        argv = [sys.executable, str(manage_py), "migrate_all", "--json", str(report_file), "--jobs", str(jobs)]
        argv += ["--plan"] if plan else []
        argv += [arg for alias in aliases for arg in ("--database", alias)]
        environ = {key: value for key, value in os.environ.items() if key != "APP_ENV"}
        environ.update(APP_CONFIG=str(config_file), PYTHONUNBUFFERED="1", NO_COLOR="1")
        environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
        with tempfile.TemporaryFile(mode="w+") as errors:
            process = subprocess.Popen(  # noqa: S603 - our own manage.py, argv built here
                argv, stdout=subprocess.PIPE, stderr=errors, text=True, env=environ
            )
            for line in process.stdout or ():
                match = _PROGRESS.match(line.rstrip())
                if match:
                    on_line(match["alias"], match["message"])
            code = process.wait()
            errors.seek(0)
            stderr = errors.read().strip()
        if not report_file.exists():
            last = stderr.splitlines()[-1] if stderr else f"exit code {code}"
            return MigrateRun({}, last.removeprefix("CommandError: "))
        report = json.loads(report_file.read_text())
    return MigrateRun({entry["alias"]: entry for entry in report["aliases"]}, None)
