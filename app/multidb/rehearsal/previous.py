"""The previous release against the migrated clones: a read and a write of every model through its own ORM."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .checks import INCOMPATIBLE
from .errors import RehearsalError

# Set in the previous release's process, so a settings module can tell it apart (the tests' settings do).
MARKER = "MULTIDB_REHEARSAL_PREVIOUS"


@contextlib.contextmanager
def release_tree(base_dir: Path, previous: str) -> Iterator[Path]:
    """The previous release's tree: `previous` itself if it is a directory holding app/manage.py (a release
    directory Ansible keeps), else the git ref of `base_dir`'s repository, exported with `git archive`."""
    given = Path(previous)
    if (given / "app" / "manage.py").exists():
        yield given
        return
    git = shutil.which("git")
    if git is None:
        raise RehearsalError(f"--previous-release {previous}: not a release directory, and git is not installed")
    with tempfile.TemporaryDirectory(prefix="rehearsal-previous-") as workdir:
        archive = Path(workdir) / "release.tar"
        done = subprocess.run(  # noqa: S603 - fixed argv, the ref is an argument
            [git, "-C", str(base_dir), "archive", "--format=tar", "-o", str(archive), previous, "--", "app"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RehearsalError(
                f"--previous-release {previous}: neither a release directory (with app/manage.py) nor a git ref "
                f"of {base_dir} ({done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'git failed'})"
            )
        with tarfile.open(archive) as tar:
            tar.extractall(workdir, filter="data")
        yield Path(workdir)


def run_previous(tree: Path, config: dict[str, Any], aliases: list[str]) -> dict[str, list[dict[str, Any]]]:
    """alias -> what broke when the release in `tree` read and wrote each of its models in that alias."""
    with tempfile.TemporaryDirectory(prefix="rehearsal-") as workdir:
        config_file, out = Path(workdir) / "clones.yaml", Path(workdir) / "previous.json"
        config_file.write_text(json.dumps(config))
        config_file.chmod(0o600)  # the clone servers' passwords
        environ = {key: value for key, value in os.environ.items() if key not in ("APP_ENV", "PYTHONPATH")}
        environ.update(APP_CONFIG=str(config_file), PYTHONPATH=str(tree), NO_COLOR="1", **{MARKER: "1"})
        argv = [sys.executable, "-c", _CHILD, str(tree / "app"), str(out), *aliases]
        done = subprocess.run(argv, capture_output=True, text=True, env=environ, check=False, timeout=600)  # noqa: S603
        if not out.exists():
            last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
            return {alias: [_finding("(start-up)", "start", last)] for alias in aliases}
        broken: dict[str, list[dict[str, Any]]] = json.loads(out.read_text())
    return {alias: [_finding(b["model"], b["action"], b["error"]) for b in found] for alias, found in broken.items()}


def _finding(model: str, action: str, error: str) -> dict[str, Any]:
    return {
        "kind": "previous-release",
        "rule": f"previous-release-{action}",
        "severity": INCOMPATIBLE,
        "migration": "(after all)",
        "operation": f"{action} {model}",
        "detail": f"the previous release's {action} of {model} fails on the new schema: {error}",
        "fix": "expand/contract: keep what the previous release uses until a release that no longer does",
    }


# The previous release's own start-up, then per model of the selected aliases: a read of one row, and an insert
# of a copy of it (rolled back). A unique-key conflict of the copy is not a schema break; anything else is.
_CHILD = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
import django
django.setup()
from django.apps import apps
from django.db import IntegrityError, router, transaction
class Rollback(Exception):
    pass
broken = {alias: [] for alias in sys.argv[3:]}
for model in apps.get_models():
    alias = router.db_for_write(model)
    if alias not in broken or not model._meta.managed or model._meta.proxy:
        continue
    name = model._meta.label
    try:
        row = model.objects.using(alias).order_by("pk").first()
    except Exception as error:
        broken[alias].append({"model": name, "action": "read", "error": " ".join(str(error).split())[:300]})
        continue
    if row is None:
        continue
    try:
        with transaction.atomic(using=alias):
            row.pk = None
            row._state.adding = True
            row.save(using=alias, force_insert=True)
            raise Rollback
    except (Rollback, IntegrityError) as error:
        cause = getattr(getattr(error, "__cause__", None), "sqlstate", None)
        if isinstance(error, IntegrityError) and cause != "23505":
            broken[alias].append({"model": name, "action": "write", "error": " ".join(str(error).split())[:300]})
    except Exception as error:
        broken[alias].append({"model": name, "action": "write", "error": " ".join(str(error).split())[:300]})
with open(sys.argv[2], "w") as out:
    json.dump(broken, out)
"""
