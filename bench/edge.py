"""The TLS proxy's cost: GET /api/posts/ (50 posts) through nginx against gunicorn directly, same stack, same run.

Starts its own Compose stack (`make up`, project multidb-bench-edge), adds 50 posts, then runs wrk (Debian's
package; 2 threads, 16 connections, as the issue's 67 requests/s baseline was measured) ROUNDS times against
each target, alternating: gunicorn on the app's address in the edge network (no published port; the request
carries the Host and X-Forwarded-Proto the proxy would send, so Django does the same work), the proxy on its
address in that network (TLS, HTTP/1.1 keep-alive), and the proxy through the published 127.0.0.1 port
(Docker's port forwarding included, as a user reaches it). Medians of requests/s and p99, and the median of
each round's proxy/direct ratio; goal: the proxy costs at most 10% of gunicorn's requests/s. Then, on the same
stack (bench/edge_variants.py): shop's database restarted during load on /api/posts/ and /api/orders/ (errors
and their window per endpoint, beside the restart time; goal: only orders, window <= restart + 1 s), and the
published target with blog_db moved into main's database by a baseline config (goal: the shipped split within
1.25x, and at least 3x the issue's 67 requests/s). BENCH_ROUNDS sets the rounds (default 7).
"""

from __future__ import annotations

import functools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "app")]

from bench import edge_variants  # noqa: E402
from tests.e2e.test_stack import stack_env  # noqa: E402

# Two runs at once (two checkouts on one host) need two names.
PROJECT = os.environ.get("BENCH_EDGE_PROJECT", "multidb-bench-edge")
# Short runs, many rounds, targets alternating within each round: on a shared machine the load drifts
# within a minute, and each round's ratio compares targets measured seconds apart.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
SECONDS = 4
POSTS = 50
BASELINE = 67.0  # requests/s of GET /api/posts/ on main before issue 13 (the wrk figure)
GOAL = 0.10
SHARED_GOAL = 1.25  # split databases within 1.25x of blog sharing main's database
BASELINE_GOAL = 3.0
PUBLISHED = "proxy (127.0.0.1)"
PROTO_HEADER = "X-Forwarded-Proto: https"
CREATE_POSTS = f"""
from django.contrib.auth.models import User
from apps.blog.models import Post
author, _ = User.objects.get_or_create(username="bench-edge")
Post.objects.bulk_create(Post(title=f"post {{i}}", content="x" * 200, author=author) for i in range({POSTS}))
"""


def main() -> None:
    subprocess.run([str(REPO / "scripts" / "ensure-debs.sh"), "wrk"], check=True, timeout=900)
    with tempfile.TemporaryDirectory(prefix="multidb-bench-edge-") as workdir:
        env = stack_env(PROJECT, Path(workdir) / ".env") | {"APP_IMAGE": "multidb/app:bench"}
        env.pop("COMPOSE_PROFILES", None)
        compose(env, "down", "--volumes", "--remove-orphans")
        stack = functools.partial(run, env)
        try:
            stack("make", "up")
            stack(str(REPO / "scripts" / "compose.sh"), "exec", "-T", "app", "python", "app/manage.py", "shell",
                  "-c", CREATE_POSTS)  # fmt: skip
            every = targets(env)
            results = measure(every)
            restart = edge_variants.restart_under_load(stack, int(env["HTTPS_PORT"]), Path(env["TLS_DIR"]) / "ca.crt")
            shared = shared_database(stack, every[PUBLISHED])
        finally:
            env |= {"FORCE": "1", "DELETE_BACKUPS": "1"}
            subprocess.run(["make", "destroy"], cwd=REPO, env=env, capture_output=True, timeout=300, check=False)
    report(results)
    report_shared(shared)
    print("\n".join(restart))


def shared_database(stack: Callable[..., str], published: list[str]) -> dict[str, list[tuple[float, float]]]:
    """The published target on the shipped config, then with blog in main's database, then shipped again
    (A/B/A: the load drifts, and the shipped figure is the median of both sides)."""
    split = measure({"split": published}, warm=False)["split"]
    edge_variants.apply_shared_database(stack, CREATE_POSTS)
    shared = measure({"shared": published})["shared"]
    stack(str(REPO / "scripts" / "compose.sh"), "up", "-d", "--no-deps", "--wait", "app")
    split += measure({"split": published})["split"]
    return {"blog_db on its own server (shipped)": split, "blog_db in main's database": shared}


def report_shared(results: dict[str, list[tuple[float, float]]]) -> None:
    print(f"GET /api/posts/ through https://127.0.0.1, multi-database cost, {SECONDS}s rounds, medians")
    print(f"(shipped: {ROUNDS} rounds before and {ROUNDS} after the baseline's {ROUNDS}; the load drifts)")
    medians, p99s = {}, {}
    for name, runs in results.items():
        medians[name] = statistics.median(r for r, _ in runs)
        p99s[name] = statistics.median(p for _, p in runs)
        rates = ", ".join(f"{r:.0f}" for r, _ in runs)
        print(f"  {name:<36} {medians[name]:8.1f} req/s   p99 {p99s[name]:7.1f} ms   (runs {rates})")
    split, shared = medians.values()
    split_p99, shared_p99 = p99s.values()
    ratio, latency = shared / split, split_p99 / shared_p99  # what splitting costs: both above 1 when it does
    verdict = "met" if max(ratio, latency) <= SHARED_GOAL else "MISSED"
    print(f"req/s shared/split {ratio:.2f}x, p99 split/shared {latency:.2f}x (goal both <= {SHARED_GOAL}x: {verdict})")
    times = split / BASELINE
    verdict = "met" if times >= BASELINE_GOAL else "MISSED"
    print(
        f"shipped: {split:.1f} req/s = {times:.2f}x the issue's {BASELINE:.0f}/s"
        f" (goal >= {BASELINE_GOAL:.0f}x: {verdict})"
    )


def targets(env: dict[str, str]) -> dict[str, list[str]]:
    """wrk's URL and headers per target."""
    prefix, network = env["EDGE_NET_PREFIX"], f"{PROJECT}_edge"
    app_ip = _address(env, "app", network)
    host = f"127.0.0.1:{env['HTTPS_PORT']}"
    return {
        "gunicorn direct": [f"http://{app_ip}:8000/api/posts/", "-H", f"Host: {host}", "-H", PROTO_HEADER],
        "proxy (edge address)": [f"https://{prefix}.2:8443/api/posts/", "-H", f"Host: {host}"],
        "proxy (127.0.0.1)": [f"https://{host}/api/posts/"],
    }


def measure(targets: dict[str, list[str]], warm: bool = True) -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
    for args in targets.values() if warm else ():  # warm-up: connections, caches
        wrk(args, seconds=2)
    for _ in range(ROUNDS):
        for name, args in targets.items():
            results[name].append(wrk(args, seconds=SECONDS))
    return results


def wrk(args: list[str], seconds: int) -> tuple[float, float]:
    """(requests/s, p99 ms) of one wrk run; non-2xx answers are a failure, not a fast result."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "30s", "--latency", *args[1:], args[0]]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk {args[0]}: errors\n{out}")
    rate, p99 = re.search(r"Requests/sec:\s+([\d.]+)", out), re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    if rate is None or p99 is None:
        raise SystemExit(f"wrk {args[0]}: no figures in\n{out}")
    return float(rate.group(1)), float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]


def report(results: dict[str, list[tuple[float, float]]]) -> None:
    medians = {
        name: (statistics.median(r for r, _ in runs), statistics.median(p for _, p in runs))
        for name, runs in results.items()
    }
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"GET /api/posts/ ({POSTS} posts), wrk 2 threads 16 connections, median of {ROUNDS} x {SECONDS}s")
    print(f"(host load average after the runs: {load}, on {os.cpu_count()} CPUs; compare the ratio, not the figures)")
    for name, (rate, p99) in medians.items():
        runs = ", ".join(f"{r:.0f}" for r, _ in results[name])
        print(f"  {name:<22} {rate:8.1f} req/s   p99 {p99:7.1f} ms   (runs {runs})")
    pairs = zip(results["proxy (edge address)"], results["gunicorn direct"], strict=True)
    ratios = [proxied / direct for (proxied, _), (direct, _) in pairs]
    ratio = statistics.median(ratios)
    verdict = "met" if 1 - ratio <= GOAL else "MISSED"
    each = ", ".join(f"{value:.2f}" for value in ratios)
    print(f"proxy/direct {ratio:.2f} (median of each round's ratio: {each})")
    print(f"the proxy costs {1 - ratio:.0%} of gunicorn's requests/s (goal <= {GOAL:.0%}: {verdict})")
    published = medians[PUBLISHED][0]
    print(
        f"through https://127.0.0.1: {published:.1f} req/s = {published / BASELINE:.2f}x the issue's {BASELINE:.0f}/s"
    )


def _address(env: dict[str, str], service: str, network: str) -> str:
    container = run(env, str(REPO / "scripts" / "compose.sh"), "ps", "-q", service).strip()
    out = subprocess.run(["docker", "inspect", container], capture_output=True, text=True, check=True).stdout
    return str(json.loads(out)[0]["NetworkSettings"]["Networks"][network]["IPAddress"])


def run(env: dict[str, str], *command: str) -> str:
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=1200, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])}... failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def compose(env: dict[str, str], *args: str) -> None:
    command = [str(REPO / "scripts" / "compose.sh"), *args]
    subprocess.run(command, env=env, capture_output=True, timeout=300, check=False)


if __name__ == "__main__":
    main()
