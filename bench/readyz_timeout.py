"""/readyz with one database hung (`docker pause`: TCP is accepted, nothing answers) against its per-check timeout.

Needs Docker and the image of scripts/ensure-images.sh (`make bench` provides both). gunicorn serves the app
as in the stack; each figure is the median of ROUNDS requests, against health.timeout in the config.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.appserver import App, manage, serving  # noqa: E402
from tests.integration.postgres import SERVICES, Target, running_servers, write_config  # noqa: E402

ROUNDS = 5
TIMEOUTS = (1.0, 2.0)  # health.timeout values measured
GOAL = 1.3


def main() -> None:
    with running_servers() as servers, tempfile.TemporaryDirectory() as workdir:
        targets = {alias: Target(servers[service], service) for alias, service in SERVICES.items()}
        migrated = manage("migrate_all", config=write_config(Path(workdir) / "migrate.yaml", targets))
        if migrated.returncode != 0:
            raise SystemExit(f"migrate_all failed:\n{migrated.stdout}{migrated.stderr}")
        print(f"/readyz with shop_db's server paused, median of {ROUNDS} requests:")
        for timeout in TIMEOUTS:
            config = write_config(Path(workdir) / f"t{timeout}.yaml", targets, health_timeout=timeout)
            with serving(config) as app:
                healthy = statistics.median(probe(app, 200) for _ in range(ROUNDS))
                servers["shop"].pause()
                try:
                    hung = statistics.median(probe(app, 503) for _ in range(ROUNDS))
                finally:
                    servers["shop"].unpause()
            ratio = hung / timeout
            met = "met" if ratio <= GOAL else "MISSED"
            print(
                f"  health.timeout {timeout:.1f}s: {hung:.3f}s  ratio {ratio:.2f}x  (goal <= {GOAL}x: {met}); "
                f"all healthy {healthy * 1000:.0f} ms"
            )


def probe(app: App, expected: int) -> float:
    started = time.perf_counter()
    status, body = app.get("/readyz")
    seconds = time.perf_counter() - started
    if status != expected:
        raise SystemExit(f"/readyz answered {status}, expected {expected}: {body}")
    return seconds


if __name__ == "__main__":
    main()
