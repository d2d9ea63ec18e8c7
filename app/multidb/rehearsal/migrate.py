"""Run migrate_all (--plan, then for real) against the clone servers, as the release's deploy would run it."""

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

from ..config import ProjectConfig

# migrate_all's live progress line: "  <alias>: applied <app.migration> (<seconds>s)".
_PROGRESS = re.compile(r"^\s+(?P<alias>[a-z][a-z0-9_]*): (?P<message>.+)$")


@dataclass
class MigrateRun:
    """migrate_all's JSON report (aliases by name), or why there is none."""

    aliases: dict[str, dict[str, Any]]
    error: str | None  # set when migrate_all stopped before migrating (exit 2: bad config, missing migrations)


def config_for_clones(config: ProjectConfig, clones: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The environment's config with each cloned alias pointing at its clone server; apps, operations and
    migrate_to unchanged, so routing and history placement are the release's. Aliases not cloned (replicas...)
    point at a closed loopback port, so nothing can reach the real servers through this file."""
    data = config.model_dump(mode="json")
    data["secret_key"] = secrets.token_hex(32)
    # Development configs would let migrate_all write migration files: a rehearsal never does.
    data["environment"] = "test" if config.is_development else config.environment
    for alias, db in data["databases"].items():
        db["options"] = {key: value for key, value in db["options"].items() if not key.startswith("ssl")}
        if alias in clones:
            db.update(clones[alias])
        elif config.databases[alias].short_engine == "sqlite3":
            db.update(name=":memory:")
        else:
            db.update(host="127.0.0.1", port=1, password=secrets.token_hex(16))
    return data


def plan_and_migrate(
    config: dict[str, Any],
    aliases: Iterable[str],
    *,
    jobs: int,
    app_dir: Path,
    on_plan: Callable[[MigrateRun], None] = lambda plan: None,
    on_line: Callable[[str, str], None] = lambda alias, message: None,
) -> tuple[MigrateRun, MigrateRun]:
    """`migrate_all --plan`, then `migrate_all`, on `config` (YAML is a superset of JSON), in one child process
    under this process's settings module, so a test's or a release's migrations are the ones rehearsed; one
    Django start-up for both, system checks included as on the command line."""
    with tempfile.TemporaryDirectory(prefix="rehearsal-") as workdir:
        config_file = Path(workdir) / "clones.yaml"
        reports = Path(workdir) / "plan.json", Path(workdir) / "migrate.json"
        config_file.write_text(json.dumps(config))
        config_file.chmod(0o600)  # the clone servers' passwords
        common = ["--jobs", str(jobs), *(arg for alias in aliases for arg in ("--database", alias))]
        argv = [sys.executable, "-c", _CHILD, str(app_dir), *map(str, reports), *common]
        environ = {key: value for key, value in os.environ.items() if key != "APP_ENV"}
        environ.update(APP_CONFIG=str(config_file), PYTHONUNBUFFERED="1", NO_COLOR="1")
        with tempfile.TemporaryFile(mode="w+") as errors:
            process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, text=True, env=environ)  # noqa: S603
            planned = False
            try:
                for line in process.stdout or ():
                    match = _PROGRESS.match(line.rstrip())
                    if line.rstrip() == _PLANNED:
                        planned = True
                        on_plan(_read(reports[0], "no plan"))
                    elif match:
                        on_line(match["alias"], match["message"])
                code = process.wait()
            except BaseException:  # interrupted: stop migrate_all before its clone servers are removed under it
                process.kill()
                process.wait()
                raise
            errors.seek(0)
            lines = [line for line in errors.read().splitlines() if line.strip()]
        last = lines[-1].removeprefix("CommandError: ") if lines else f"exit code {code}"
        plan = _read(reports[0], last)
        if not planned:
            on_plan(plan)
        return plan, _read(reports[1], last)


def _read(report: Path, error: str) -> MigrateRun:
    if not report.exists():
        return MigrateRun({}, error)
    return MigrateRun({entry["alias"]: entry for entry in json.loads(report.read_text())["aliases"]}, None)


# manage.py's start-up (app/ on sys.path, the settings module), then migrate_all twice: a plan, then the run.
# argv: app dir, plan report, migrate report, then migrate_all's common arguments. Between the two it prints
# _PLANNED, so the parent reports the plan before the first migration's line.
_PLANNED = "rehearsal: plan written"  # as printed by _CHILD
_CHILD = """
import os, sys
sys.path.insert(0, sys.argv[1])
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
import django
from django.core.management import call_command
from django.core.management.base import CommandError
from multidb.errors import ConfigError
try:
    django.setup()
except ConfigError as error:
    sys.exit(f"config error: {error}")
for report, extra in ((sys.argv[2], ["--plan"]), (sys.argv[3], [])):
    try:
        call_command("migrate_all", "--json", report, *extra, *sys.argv[4:], skip_checks=False)
    except CommandError as error:
        print(f"CommandError: {error}", file=sys.stderr, flush=True)
        if not os.path.exists(report):  # stopped before migrating (exit 2, failed checks): so would the run
            sys.exit(2)
    if extra:
        print("rehearsal: plan written", flush=True)
"""
