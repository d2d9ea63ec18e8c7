"""bench/edge.py's other runs on its stack: blog in main's database, shop's database restarted under load."""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE = str(REPO / "scripts" / "compose.sh")
# The baseline config is the bench's, never shipped: written here (git-ignored build/), mounted into the app.
SHARED_DIR = REPO / "build" / "bench-shared-db"
MOUNTED = "/etc/multidb-bench"
PACE = 0.05  # seconds between one client's requests: 20/s per endpoint, under the 1200/minute user throttle
SETTLE = 3.0  # seconds of load before the restart and after shop's server is healthy again
# Fails the bench if the app did not take the baseline config.
SAME_DATABASE = """
from django.db import connections
blog, main = connections["blog_db"].settings_dict, connections["default"].settings_dict
assert (blog["HOST"], blog["NAME"]) == (main["HOST"], main["NAME"]), "the app did not take the baseline config"
"""
SESSION = """
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
user, _ = User.objects.get_or_create(username="bench-orders")
store = import_module(settings.SESSION_ENGINE).SessionStore()
store.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
              HASH_SESSION_KEY: user.get_session_auth_hash()})
store.create()
print(settings.SESSION_COOKIE_NAME + "=" + store.session_key)
"""


def shared_database_override() -> Path:
    """A Compose override running migrate and app on config/compose.yaml with blog_db on main's server and database."""
    config = yaml.safe_load((REPO / "config" / "compose.yaml").read_text())
    blog, main = config["databases"]["blog_db"], config["databases"]["default"]
    blog.update({key: main[key] for key in ("name", "user", "password", "host", "port")})
    SHARED_DIR.mkdir(parents=True, exist_ok=True)
    header = "# Written by bench/edge_variants.py: config/compose.yaml with blog_db in main's database (a baseline).\n"
    (SHARED_DIR / "compose-shared.yaml").write_text(header + yaml.safe_dump(config, sort_keys=False))
    service = {
        "volumes": [f"{SHARED_DIR}:{MOUNTED}:ro"],
        "environment": {"APP_CONFIG": f"{MOUNTED}/compose-shared.yaml"},
    }
    override = SHARED_DIR / "override.yaml"
    override.write_text(yaml.safe_dump({"services": {"migrate": service, "app": service}}))
    return override


def apply_shared_database(run: Callable[..., str], seed: str) -> None:
    """Migrate main for blog with the baseline config, recreate the app on it, add the same 50 posts there."""
    override = str(shared_database_override())
    run(COMPOSE, "-f", override, "run", "--rm", "migrate")
    run(COMPOSE, "-f", override, "up", "-d", "--no-deps", "--wait", "app")
    run(COMPOSE, "-f", override, "exec", "-T", "app", "python", "app/manage.py", "shell", "-c", SAME_DATABASE + seed)


def restart_under_load(run: Callable[..., str], port: int, ca_file: Path) -> list[str]:
    """Load /api/posts/ and /api/orders/ (a logged-in user) while shop's server restarts; the report's lines."""
    cookie = (
        run(COMPOSE, "exec", "-T", "app", "python", "app/manage.py", "shell", "-c", SESSION).strip().splitlines()[-1]
    )
    container = run(COMPOSE, "ps", "-q", "db-shop").strip()
    paths = ("/api/posts/", "/api/orders/")
    records: dict[str, list[tuple[float, int]]] = {path: [] for path in paths}
    stop = threading.Event()
    context = ssl.create_default_context(cafile=str(ca_file))
    clients = [
        threading.Thread(target=_client, args=(port, path, {"Cookie": cookie}, context, stop, records[path]))
        for path in paths
    ]
    for client in clients:
        client.start()
    try:
        time.sleep(SETTLE)
        started = time.monotonic()
        subprocess.run(["docker", "restart", container], capture_output=True, check=True, timeout=120)
        restart = _wait_healthy(container) - started
        time.sleep(SETTLE)
    finally:
        stop.set()
        for client in clients:
            client.join()
    return _restart_report(records, restart)


def _client(
    port: int,
    path: str,
    headers: dict[str, str],
    context: ssl.SSLContext,
    stop: threading.Event,
    out: list[tuple[float, int]],
) -> None:
    """One keep-alive HTTPS client, paced; (start time, status) per request, status 0 for a failed connection."""
    connection: http.client.HTTPSConnection | None = None
    while not stop.is_set():
        started = time.monotonic()
        try:
            connection = connection or http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            connection, status = None, 0
        out.append((started, status))
        time.sleep(max(0.0, PACE - (time.monotonic() - started)))


def _wait_healthy(container: str) -> float:
    """The moment Docker reports the container healthy again (its probe runs every second)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        out = subprocess.run(["docker", "inspect", container], capture_output=True, text=True, check=True).stdout
        if json.loads(out)[0]["State"].get("Health", {}).get("Status") == "healthy":
            return time.monotonic()
        time.sleep(0.1)
    raise SystemExit("bench: db-shop not healthy 180 s after docker restart")


def _restart_report(records: dict[str, list[tuple[float, int]]], restart: float) -> list[str]:
    lines = [f"shop's database restarted under load (docker restart to health ok: {restart:.1f} s):"]
    windows = {}
    for path, runs in records.items():
        failed = [(at, status) for at, status in runs if status != 200]
        windows[path] = failed[-1][0] - failed[0][0] if failed else 0.0
        statuses = sorted({status for _, status in failed})
        lines.append(
            f"  {path:<14} {len(runs):5d} requests, {len(failed):4d} errors {statuses or ''}"
            f" over {windows[path]:.1f} s (first to last error)"
        )
    only_orders = not any(status != 200 for _, status in records["/api/posts/"])
    met = only_orders and windows["/api/orders/"] <= restart + 1
    lines.append(
        f"errors only on /api/orders/: {'yes' if only_orders else 'NO'}; window <= restart + 1 s "
        f"({restart + 1:.1f} s): {'met' if met else 'MISSED'}"
    )
    return lines
