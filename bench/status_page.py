"""The status page at `/` against /readyz, at the same concurrency, on SQLite and (with Docker) PostgreSQL.

Both do the same health check (multidb.health); the page adds row counts, the routing table, the last
migrate_all run and the HTML. gunicorn serves the app as in the stack (1 worker, 8 threads); each round
sends CONCURRENCY parallel streams of REQUESTS requests to one path, alternating the two paths; the
figure is the median latency over every round. Goal: the page within 1.5x of /readyz.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.appserver import App, manage, serving  # noqa: E402
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
    with serving(config) as app:
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


def stream(app: App, path: str) -> list[float]:
    return [fetch(app, path) for _ in range(REQUESTS)]


def fetch(app: App, path: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(app.base + path, timeout=30) as response:  # noqa: S310 - loopback
        response.read()
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}")
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
