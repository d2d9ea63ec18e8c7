"""`make up` to healthy: warm (after `make down`) against one PostgreSQL container to healthy (the floor).

Runs in its own Compose project (multidb-bench, own env file and port), so a developer's stack is untouched,
and removes it at the end. Figures are medians of ROUNDS. Also reported: a first `make up` of a fresh
project (three initdb runs, init scripts, every migration) and `make bootstrap` when all is present.
`--bare` additionally removes the locally built base images and the app image first, so the first
`make up` also rebuilds them from Debian packages: a bare machine's cold start minus installing Docker.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROJECT = "multidb-bench"
ROUNDS = 3
GOAL_WARM, GOAL_COLD_SECONDS = 2.0, 360.0
LOCAL_IMAGES = ("multidb-local/postgres:15", "multidb-local/python:3.11", "multidb-local/debian:bookworm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bare", action="store_true", help="remove local base images and the app image first")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="warm/floor pairs to take the median of")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="multidb-bench-") as workdir:
        env = {
            **os.environ,
            "COMPOSE_PROJECT_NAME": PROJECT,
            "ENV_FILE": str(Path(workdir) / ".env"),
            # The proxy's host ports and network: beside a developer's stack on the defaults (docs/tls.md).
            "HTTPS_PORT": str(_free_port()),
            "HTTP_PORT": str(_free_port()),
            "EDGE_NET_PREFIX": "10.213.99",
            "APP_IMAGE": "multidb/app:bench",  # never rebuild or remove the developer's image
        }
        compose(env, "down", "--volumes", "--remove-orphans")
        if args.bare:
            _remove_images(env, (*LOCAL_IMAGES, env["APP_IMAGE"]))
        try:
            run(env, "make", "bootstrap")  # outside the timings below: installs Docker on a bare machine
            bootstrap = timed(env, "make", "bootstrap")
            cold = timed(env, "make", "up")
            floors, warms = [], []
            for _ in range(args.rounds):
                run(env, "make", "down")
                floors.append(timed(env, str(REPO / "scripts" / "compose.sh"), "up", "--detach", "--wait", "db-main"))
                run(env, "make", "down")
                warms.append(timed(env, "make", "up"))
        finally:
            compose(env, "down", "--volumes", "--remove-orphans")

    floor, warm = statistics.median(floors), statistics.median(warms)
    ratio = warm / floor
    print(f"make bootstrap, all present     {bootstrap:7.2f}s")
    label = "first make up, bare images" if args.bare else "first make up, fresh volumes"
    cold_verdict = "met" if cold <= GOAL_COLD_SECONDS else "MISSED"
    print(f"{label:<31} {cold:7.2f}s   (goal < {GOAL_COLD_SECONDS:.0f}s: {cold_verdict})")
    print(f"floor: one PostgreSQL healthy   {floor:7.2f}s   (compose up --wait db-main; runs {_runs(floors)})")
    print(f"warm make up to healthy         {warm:7.2f}s   (after make down; runs {_runs(warms)})")
    print(f"warm/floor ratio {ratio:.2f}x  (goal <= {GOAL_WARM}x: {'met' if ratio <= GOAL_WARM else 'MISSED'})")


def timed(env: dict[str, str], *command: str) -> float:
    started = time.perf_counter()
    run(env, *command)
    return time.perf_counter() - started


def run(env: dict[str, str], *command: str) -> None:
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=1200, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")


def compose(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [str(REPO / "scripts" / "compose.sh"), *args], env=env, capture_output=True, timeout=300, check=False
    )


def _remove_images(env: dict[str, str], images: tuple[str, ...]) -> None:
    # Refused (and left alone) while a container still uses an image: never forced.
    subprocess.run(["docker", "image", "rm", *images], env=env, capture_output=True, timeout=300, check=False)


def _runs(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    main()
