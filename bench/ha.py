"""Failover of the Compose `ha` profile, measured: RTO and RPO of kill, switchover and partition over several rounds.

Starts its own stack (`make up PROFILE=ha`, project multidb-bench-ha), creates an API user, then per round
(BENCH_ROUNDS, default 3) runs the three scenarios of tests/e2e/ha_scenarios.py on blog_db under a steady
writer through the app's HTTPS API: the leader `docker kill`ed (and started again), a planned switchover
(`make failover DB=blog_db`), the leader cut off with `docker network disconnect` (and reconnected). Prints,
per scenario, the median, min and max of RTO, RPO and seconds of write errors, beside the goal
(ttl + loop_wait + 5 s, RPO 0) and Patroni's settings. The stack is destroyed at the end.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "app")]

from tests.e2e import ha_scenarios as ha  # noqa: E402
from tests.e2e.test_stack import API_PASSWORD, API_USER, Stack, stack_env  # noqa: E402

PROJECT = os.environ.get("BENCH_HA_PROJECT", "multidb-bench-ha")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SCENARIOS: dict[str, Callable[[Stack], ha.Outcome]] = {
    "kill": ha.kill,
    "switchover": ha.switchover,
    "partition": ha.partition,
}


def main() -> None:
    outcomes: dict[str, list[ha.Outcome]] = {name: [] for name in SCENARIOS}
    with tempfile.TemporaryDirectory(prefix="multidb-bench-ha-") as workdir:
        env = stack_env(PROJECT, Path(workdir) / ".env")
        env.pop("COMPOSE_PROFILES", None)
        stack = Stack(env=env, env_file=Path(workdir) / ".env", port=int(env["HTTPS_PORT"]))
        stack.compose("--profile", "*", "down", "--volumes", "--remove-orphans", check=False)
        try:
            _run(env, "make", "up", "PROFILE=ha")
            stack.compose(
                *("exec", "-T", "-e", "DJANGO_SUPERUSER_PASSWORD", "app", "python", "app/manage.py"),
                *("createsuperuser", "--noinput", "--username", API_USER, "--email", "bench@example.invalid"),
                env={"DJANGO_SUPERUSER_PASSWORD": API_PASSWORD},
            )
            for number in range(1, ROUNDS + 1):
                for name, scenario in SCENARIOS.items():
                    outcome = scenario(stack)
                    outcomes[name].append(outcome)
                    print(f"round {number}: {outcome.line()}", flush=True)
        finally:
            env["FORCE"] = "1"
            subprocess.run(["make", "destroy"], cwd=REPO, env=env, capture_output=True, timeout=300, check=False)
    report(outcomes)


def report(outcomes: dict[str, list[ha.Outcome]]) -> None:
    print(f"\nFailover of blog_db over {ROUNDS} rounds; {ha.settings()}; goal RTO <= {ha.RTO_GOAL} s, RPO 0")
    print(f"{'scenario':<11} {'RTO s median (min-max)':<24} {'RPO writes max':<15} {'errors s median (min-max)':<26}")
    for name, rows in outcomes.items():
        if not rows:
            continue
        print(
            f"{name:<11} {_spread([r.rto for r in rows]):<24} {max(r.lost for r in rows):<15} "
            f"{_spread([r.error_seconds for r in rows]):<26}"
            + (
                f" fenced after {_spread([r.fenced for r in rows if r.fenced is not None])} s"
                if name == "partition"
                else ""
            )
        )


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def _run(env: dict[str, str], *command: str) -> None:
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        raise SystemExit(f"bench/ha.py: {' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


if __name__ == "__main__":
    main()
