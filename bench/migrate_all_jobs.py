"""migrate_all on three fresh PostgreSQL databases, --jobs 3 against --jobs 1; a no-op run against `manage.py check`.

Needs Docker and the image of scripts/ensure-images.sh (`make bench` provides both). Every figure is the
median of ROUNDS runs of a whole `python app/manage.py ...` process, as a deploy runs it.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.appserver import Result, manage  # noqa: E402
from tests.integration.postgres import Server, fresh_targets, running_servers, write_config  # noqa: E402

ROUNDS = 5
GOAL_JOBS, GOAL_NOOP = 0.7, 1.5


def main() -> None:
    with running_servers() as servers, tempfile.TemporaryDirectory() as workdir:
        wall: dict[int, list[float]] = {1: [], 3: []}
        aliases: dict[str, list[float]] = {"default": [], "blog_db": [], "shop_db": []}
        config = Path()
        for round_ in range(ROUNDS):
            for jobs in (1, 3) if round_ % 2 else (3, 1):  # alternate, so drift hits both alike
                config, report = fresh_config(servers, Path(workdir), f"r{round_}j{jobs}")
                seconds, _ = timed(config, "migrate_all", "--jobs", str(jobs), "--json", str(report))
                wall[jobs].append(seconds)
                if jobs == 1:
                    for entry in json.loads(report.read_text())["aliases"]:
                        aliases[entry["alias"]].append(entry["seconds"])
        # The last config is fully migrated: migrate_all has nothing to do there.
        noop = [timed(config, "migrate_all")[0] for _ in range(ROUNDS)]
        floor = [timed(config, "check")[0] for _ in range(ROUNDS)]

    one, three = statistics.median(wall[1]), statistics.median(wall[3])
    parts = {alias: statistics.median(values) for alias, values in aliases.items()}
    start = statistics.median(floor)
    # default runs first by design; only blog_db and shop_db can overlap, so this is the best --jobs 3 can do.
    bound = (one - parts["blog_db"] - parts["shop_db"] + max(parts["blog_db"], parts["shop_db"])) / one
    print(f"migrate_all on 3 fresh PostgreSQL databases, median of {ROUNDS} (whole process):")
    print(f"  --jobs 1            {one:6.3f}s")
    print(f"  --jobs 3            {three:6.3f}s   {ratio_text(three / one, GOAL_JOBS)}")
    print(
        "  inside --jobs 1     "
        + ", ".join(f"{alias} {seconds:.3f}s" for alias, seconds in parts.items())
        + f"; process start (check) {start:.3f}s"
    )
    print(f"  best possible ratio with default first: {bound:.2f}x")
    ratio = statistics.median(noop) / start
    print(f"no-op migrate_all     {statistics.median(noop):6.3f}s")
    print(f"manage.py check       {start:6.3f}s   no-op/check {ratio_text(ratio, GOAL_NOOP)}")


def fresh_config(servers: dict[str, Server], workdir: Path, prefix: str) -> tuple[Path, Path]:
    config = write_config(workdir / f"{prefix}.yaml", fresh_targets(servers, prefix))
    return config, workdir / f"{prefix}.json"


def timed(config: Path, *args: str) -> tuple[float, Result]:
    started = time.perf_counter()
    result = manage(*args, config=config)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return seconds, result


def ratio_text(ratio: float, goal: float) -> str:
    return f"ratio {ratio:.2f}x  (goal <= {goal}x: {'met' if ratio <= goal else 'MISSED'})"


if __name__ == "__main__":
    main()
