"""The app as users run it: manage.py commands and gunicorn on a loopback port, driven over real HTTP."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration.postgres import free_port
from tests.unit.cli import REPO, Result, manage

__all__ = ["REPO", "App", "Result", "manage", "orm", "serving"]


def orm(code: str, *, config: Path, env: dict[str, str] | None = None) -> Any:
    """Run `code` in `manage.py shell` (the ORM, no .using()) and return the JSON it prints last."""
    result = manage("shell", "-c", code, config=config, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@dataclass
class App:
    """A running app server: its base URL, and HTTP helpers answering (status, JSON body)."""

    base: str

    def get(self, path: str, auth: tuple[str, str] | None = None, timeout: float = 30) -> tuple[int, Any]:
        return self._send(urllib.request.Request(self.base + path, headers=_auth(auth)), timeout)

    def post(self, path: str, payload: Any, auth: tuple[str, str] | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", **_auth(auth)},
            method="POST",
        )
        return self._send(request, 30)

    @staticmethod
    def _send(request: urllib.request.Request, timeout: float) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


@contextmanager
def serving(config: Path, env: dict[str, str] | None = None) -> Iterator[App]:
    """gunicorn (as in the Compose stack) on a free loopback port, against `config`; stopped on exit."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "DJANGO_SETTINGS"))}
    environ.update({"APP_CONFIG": str(config), "PYTHONPATH": str(REPO), **(env or {})})
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "--chdir", str(REPO / "app")),
                *("--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "8", "--timeout", "60"),
                "project.wsgi:application",
            ],
            env=environ,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        app = App(f"http://127.0.0.1:{port}")
        try:
            _wait_until_up(app, process, log)
            yield app
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(app: App, process: subprocess.Popen[bytes], log: Any, timeout: float = 30) -> None:
    """Until /healthz answers (a real request); fail with gunicorn's output if it exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            app.get("/healthz", timeout=5)
            return
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"gunicorn did not answer /healthz:\n{log.read().decode()[-3000:]}") from None
            time.sleep(0.05)  # poll interval between real requests


def _auth(credentials: tuple[str, str] | None) -> dict[str, str]:
    if credentials is None:
        return {}
    token = base64.b64encode(":".join(credentials).encode()).decode()
    return {"Authorization": f"Basic {token}"}
