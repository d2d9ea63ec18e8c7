"""The status page at `/` against /readyz, at the same concurrency, on SQLite and (with Docker) PostgreSQL.

Both do the same health check (multidb.health); the page adds row counts, the routing table, the last
migrate_all run and the HTML. gunicorn serves the app as in the stack (1 worker, 8 threads); each round
sends CONCURRENCY parallel streams of REQUESTS requests to one path, alternating the two paths; the
figure is the median latency over every round. Goal: the page within 1.5x of /readyz.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "app"))  # tests.integration imports multidb

from tests.integration.appserver import App, manage  # noqa: E402
from tests.integration.postgres import free_port  # noqa: E402
from tests.unit.cli import local_config  # noqa: E402

ROUNDS, CONCURRENCY, REQUESTS = 5, 4, 5
GOAL = 1.5


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        measure("SQLite", local_config(Path(workdir)))
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        print("PostgreSQL: skipped (no Docker engine answers)")
        return
    from tests.integration.postgres import SERVICES, Target, running_servers, write_config

    with running_servers() as servers, tempfile.TemporaryDirectory() as workdir:
        targets = {alias: Target(servers[service], service) for alias, service in SERVICES.items()}
        # A generous timeout: on a busy machine a 2 s probe may time out, and the bench measures work, not that.
        measure("PostgreSQL", write_config(Path(workdir) / "bench.yaml", targets, health_timeout=10.0))


def measure(label: str, config: Path) -> None:
    with config.open("a") as handle:
        handle.write("status_page: public\n")  # the bench measures rendering, not the login
    for command in (("migrate_all", "--skip-makemigrations"), ("seed",)):
        done = manage(*command, config=config)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    with gunicorn(config) as app:
        timings: dict[str, list[float]] = {"/readyz": [], "/": []}
        for path in timings:
            fetch(app, path)  # warm: imports, the migration graph, the template
        for _ in range(ROUNDS):
            for path, samples in timings.items():
                with ThreadPoolExecutor(CONCURRENCY) as pool:
                    streams = [pool.submit(stream, app, path) for _ in range(CONCURRENCY)]
                    for future in streams:
                        samples.extend(future.result())
    readyz, page = (statistics.median(timings[path]) for path in ("/readyz", "/"))
    ratio = page / readyz
    met = "met" if ratio <= GOAL else "MISSED"
    count = ROUNDS * CONCURRENCY * REQUESTS
    print(f"{label}: {count} requests each, {CONCURRENCY} at a time, median latency:")
    print(f"  /readyz  {readyz * 1000:7.1f} ms")
    print(f"  /        {page * 1000:7.1f} ms  (status page)")
    print(f"  ratio {ratio:.2f}x  (goal <= {GOAL}x: {met})")


@contextmanager
def gunicorn(config: Path) -> Iterator[App]:
    """gunicorn as in the stack; its worker imports Django on the first request, which may take a while here."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "DJANGO_SETTINGS"))}
    environ.update({"APP_CONFIG": str(config), "PYTHONPATH": str(REPO)})
    command = [sys.executable, "-m", "gunicorn", "--chdir", str(REPO / "app"), "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--threads", "8", "--timeout", "60", "project.wsgi:application"]
    process = subprocess.Popen(command, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    app = App(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                fetch(app, "/healthz")
                break
            except OSError:  # not listening yet, or the first request still importing
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not answer /healthz") from None
                time.sleep(0.2)
        yield app
    finally:
        process.terminate()
        process.wait(timeout=30)


def stream(app: App, path: str) -> list[float]:
    return [fetch(app, path) for _ in range(REQUESTS)]


def fetch(app: App, path: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(app.base + path, timeout=60) as response:  # noqa: S310 - loopback
        response.read()
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}")
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
