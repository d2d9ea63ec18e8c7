"""Run app/manage.py the way a user does, against a config file written by the test."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCAL_CONFIG = (REPO / "config" / "local.yaml").read_text()


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def manage(
    *args: str, config: Path, env: dict[str, str] | None = None, timeout: float = 120, max_memory: int | None = None
) -> Result:
    """`max_memory` (bytes of address space) makes a runaway allocation a MemoryError, not a machine out of memory."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "DJANGO_SETTINGS"))}
    environ.update({"APP_CONFIG": str(config), "PYTHONPATH": str(REPO), "NO_COLOR": "1"})
    environ.update(env or {})

    def bounded() -> None:  # runs in the child, before exec: it sets the child's own limit only
        assert max_memory is not None
        resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))

    done = subprocess.run(
        [sys.executable, str(REPO / "app" / "manage.py"), *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=timeout,
        check=False,
        preexec_fn=bounded if max_memory is not None else None,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def local_config(directory: Path, text: str = LOCAL_CONFIG) -> Path:
    """config/local.yaml with its SQLite files moved into `directory`."""
    config = directory / "local.yaml"
    config.write_text(text.replace("data/", f"{directory}/"))
    return config
