"""docs/add-a-database.md followed in a copy of the repository: a fourth alias is a fourth server, nothing else.

The recipe's code blocks are what the test applies (the app's files, the config entries), so the document
and the test cannot drift apart. The copy's `make up` upgrades the e2e layer's running stack (tests/e2e/
conftest.py), so this module runs last in `make test-e2e`; it destroys that stack and its own app image.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.test_stack import MAKE_UP_TIMEOUT, REPO, TLS_DIR, Stack

pytestmark = pytest.mark.e2e

RECIPE = REPO / "docs" / "add-a-database.md"
ALIAS, APP, DATABASE, SERVICE = "analytics_db", "analytics", "analytics", "db-analytics"
TABLE = "analytics_event"
TABLES_SQL = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"


@dataclass
class Copy:
    root: Path
    env: dict[str, str]
    port: int
    changed: set[str]
    env_before: list[str]  # the running stack's env file before the recipe's `make up`
    up: subprocess.CompletedProcess[str] | None = None

    def make(self, *args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["make", "--no-print-directory", "-C", str(self.root), *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"make {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def tables(self, alias: str) -> list[str]:
        return self.make("-s", "psql", f"DB={alias}", "ARGS=-tAX", stdin=TABLES_SQL).stdout.split()


@pytest.fixture(scope="module")
def copy(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Copy]:
    """The recipe applied in a copy, then `make up` there on the e2e layer's running stack (same project, env
    file and port): what a user does to a deployed stack, and one `make up` cheaper than a stack of its own."""
    root = tmp_path_factory.mktemp("add-database") / "repo"
    _copy_tracked_files(root)
    follow_recipe(root)
    changed = _git_changes(root)
    # Its own app image tag: the developer's multidb/app:local must not get the analytics app.
    env = {**stack.env, "APP_IMAGE": f"multidb/app:e2e-add-{uuid.uuid4().hex[:8]}"}
    env.pop("COMPOSE_PROFILES", None)
    copied = Copy(root, env, stack.port, changed, stack.env_file.read_text().splitlines())
    try:
        copied.up = copied.make("up", timeout=MAKE_UP_TIMEOUT)
        yield copied
    finally:
        # The whole stack, from the copy: its compose files name db-analytics and its volume.
        destroy = ["make", "-C", str(root), "destroy", "FORCE=1", "DELETE_BACKUPS=1"]
        subprocess.run(destroy, env=env, capture_output=True, check=False)
        subprocess.run(["docker", "image", "rm", "-f", env["APP_IMAGE"]], capture_output=True, check=False)


def test_make_up_appends_the_new_alias_passwords_and_keeps_the_others(copy: Copy, stack: Stack) -> None:
    added = [f"ANALYTICS_DB_{role}_PASSWORD" for role in ("SUPERUSER", "OWNER", "RUNTIME", "REPLICATION")]
    lines = stack.env_file.read_text().splitlines()

    assert f"env: added random values for {' '.join(added)}" in copy.up.stdout
    assert lines[: len(copy.env_before)] == copy.env_before
    assert [line.split("=")[0] for line in lines[len(copy.env_before) :]] == added


def test_the_recipe_changes_only_the_files_it_lists(copy: Copy) -> None:
    listed = re.findall(r"^\| `([^`]+)`", RECIPE.read_text(), flags=re.M)
    listed += re.findall(r"`(config/[a-z-]+\.yaml)`", RECIPE.read_text())
    outside = {path for path in copy.changed if not any(path.startswith(item) for item in listed)}
    assert outside == set(), f"changed but not in {RECIPE.name}: {sorted(outside)}"
    assert {"config/compose.yaml", "app/project/settings.py", f"app/apps/{APP}/models.py"} <= copy.changed


def test_the_new_alias_has_its_own_server_holding_its_tables_and_nobody_elses(copy: Copy) -> None:
    tables = {alias: copy.tables(alias) for alias in ("default", "blog_db", "shop_db", ALIAS)}

    assert TABLE in tables[ALIAS]
    assert [alias for alias, names in tables.items() if TABLE in names] == [ALIAS]
    assert not {name for name in tables[ALIAS] if not name.startswith((f"{APP}_", "django_migrations"))}


def test_readyz_lists_four_aliases(copy: Copy) -> None:
    context = ssl.create_default_context(cafile=str(TLS_DIR / "ca.crt"))
    with urllib.request.urlopen(f"https://127.0.0.1:{copy.port}/readyz", timeout=15, context=context) as response:
        body = json.loads(response.read())

    assert {alias: db["status"] for alias, db in body["databases"].items()} == dict.fromkeys(
        ["default", "blog_db", "shop_db", ALIAS], "ok"
    )


def test_make_psql_reaches_the_new_alias_as_superuser(copy: Copy) -> None:
    out = copy.make("-s", "psql", f"DB={ALIAS}", "ARGS=-tAX", stdin="SELECT current_user, current_database()").stdout
    assert out.strip() == f"postgres|{DATABASE}"
    project = f"label=com.docker.compose.project={copy.env['COMPOSE_PROJECT_NAME']}"
    names = subprocess.run(
        ["docker", "ps", "--format", '{{.Label "com.docker.compose.service"}}', "--filter", project],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # Each server with its backup service (docs/backups.md): the new alias is backed up with no extra edit.
    servers = ["db-main", "db-blog", "db-shop", SERVICE]
    assert sorted(names) == sorted(["app", "proxy", *servers, *[f"{server}-backup" for server in servers]])


def follow_recipe(root: Path) -> None:
    """Apply docs/add-a-database.md's code blocks to the copy at `root`, in the order the recipe gives them."""
    blocks = re.findall(r"```(\w+)\n(.*?)```", RECIPE.read_text(), flags=re.S)
    for kind, text in blocks:
        first = text.splitlines()[0]
        if kind == "python" and first.startswith("# app/"):
            _write(root / first.removeprefix("# "), text.split("\n", 1)[1])
    for package in (f"app/apps/{APP}/__init__.py", f"app/apps/{APP}/migrations/__init__.py"):
        _write(root / package, "")
    settings = root / "app" / "project" / "settings.py"
    text = settings.read_text()
    settings.write_text(text.replace('    "apps.shop",\n', f'    "apps.shop",\n    "apps.{APP}",\n'))
    compose_entry, local_entry, ha_entry = [text for kind, text in blocks if kind == "yaml"][:3]
    for name in ("compose.yaml", "compose-replica.yaml"):
        _add_entry(root / "config" / name, compose_entry)
    _add_entry(root / "config" / "compose-ha.yaml", ha_entry)
    _add_entry(root / "config" / "local.yaml", local_entry)
    deployed = (
        compose_entry.replace(f"name: {DATABASE}", f"name: ${{ANALYTICS_DB_NAME:-{DATABASE}}}")
        .replace(f"${{ANALYTICS_DB_HOST:-{SERVICE}}}", "${ANALYTICS_DB_HOST}")
        .replace("port: 5432", "port: ${ANALYTICS_DB_PORT:-5432}")
    )
    for name in ("staging.yaml", "production.yaml"):
        _add_entry(root / "config" / name, deployed)
    # The copy's own local config, not the one the test session points APP_CONFIG at.
    env = {key: value for key, value in os.environ.items() if key not in ("APP_CONFIG", "DJANGO_SETTINGS_MODULE")}
    _run(root, [".venv/bin/python", "app/manage.py", "makemigrations", APP], env={**env, "APP_ENV": "local"})


def _add_entry(path: Path, entry: str) -> None:
    """The alias as the last entry under `databases:` (the top-level keys after it, if any, stay after it)."""
    text = path.read_text()
    match = re.search(r"^databases:\n(?:(?:[ #].*)?\n)*", text, flags=re.M)
    assert match, f"{path.name} has no databases: section"
    path.write_text(text[: match.end()].rstrip("\n") + "\n" + entry + text[match.end() :])


def _copy_tracked_files(root: Path) -> None:
    """The working tree's tracked files (as committed or edited), mtimes kept; the venv and images shared."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    (root / ".venv").symlink_to(REPO / ".venv")  # newer than requirements/dev.lock: `make venv` does nothing
    (root / "build").mkdir()
    shutil.copy2(REPO / "build" / "images.env", root / "build" / "images.env")
    _run(root, ["git", "init", "-q"])
    _run(root, ["git", "add", "-A"])
    _run(root, ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "commit", "-qm", "copy"])


def _git_changes(root: Path) -> set[str]:
    out = _run(root, ["git", "status", "--porcelain", "--untracked-files=all"]).stdout
    return {line[3:] for line in out.splitlines()}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _run(root: Path, command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=root, env=env or dict(os.environ), capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(command)} failed in the copy:\n{result.stdout}\n{result.stderr}"
    return result
