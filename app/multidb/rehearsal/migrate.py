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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ProjectConfig
from .child import PLANNED, STARTING

# migrate_all's live progress line: "  <alias>: applied <app.migration> (<seconds>s)".
_PROGRESS = re.compile(r"^\s+(?P<alias>[a-z][a-z0-9_]*): (?P<message>.+)$")


@dataclass
class MigrateRun:
    """migrate_all's JSON report (aliases by name), or why there is none."""

    aliases: dict[str, dict[str, Any]]
    error: str | None  # set when migrate_all stopped before migrating (exit 2: bad config, missing migrations)
    # The plan only: alias -> each due migration's operations and SQL (sqlmigrate), see child.py.
    statements: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


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
    on_start: Callable[[str, str], None] = lambda alias, migration: None,
) -> tuple[MigrateRun, MigrateRun]:
    """`migrate_all --plan`, then `migrate_all`, on `config` (YAML is a superset of JSON), in one child process
    under this process's settings module, so a test's or a release's migrations are the ones rehearsed; one
    Django start-up for both, system checks included as on the command line."""
    with tempfile.TemporaryDirectory(prefix="rehearsal-") as workdir:
        config_file = Path(workdir) / "clones.yaml"
        reports = Path(workdir) / "plan.json", Path(workdir) / "migrate.json", Path(workdir) / "statements.json"
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
                    if line.rstrip() == PLANNED:
                        planned = True
                        on_plan(_read(reports[0], "no plan", reports[2]))
                    elif line.startswith(STARTING):
                        alias, migration = line.split()[-2:]
                        on_start(alias, migration)
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
        plan = _read(reports[0], last, reports[2])
        if not planned:
            on_plan(plan)
        return plan, _read(reports[1], last)


def _read(report: Path, error: str, statements: Path | None = None) -> MigrateRun:
    if not report.exists():
        return MigrateRun({}, error)
    aliases = {entry["alias"]: entry for entry in json.loads(report.read_text())["aliases"]}
    found = json.loads(statements.read_text()) if statements and statements.exists() else {}
    return MigrateRun(aliases, None, found)


# manage.py's start-up then child.main (argv: app dir, plan, migrate and statements reports, migrate_all's common
# arguments): the plan, the due migrations' SQL, then the run, announcing each migration as it starts.
_CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from multidb.rehearsal.child import main
main(sys.argv[1:])
"""
