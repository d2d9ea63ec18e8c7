"""deploy.yml on four fresh throwaway systemd hosts: the first deploy against the idempotent re-run.

The first run installs PostgreSQL on the three database hosts (in parallel), stages the app (virtualenv
from the locked wheels), runs migrate_all and starts gunicorn; the re-run finds everything in place and
must change nothing (changed=0 on every host). The hosts are the test inventory's
(ansible/inventories/test), started and removed here; no goal yet, the figures are reported.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.ansible_hosts.throwaway import (
    PlaybookRun,
    ensure_docker,
    ensure_host_image,
    run_playbook,
    throwaway_hosts,
)


def main() -> None:
    ensure_docker()
    with throwaway_hosts(ensure_host_image()) as hosts:
        first = _checked(run_playbook(hosts), "first deploy")
        rerun = _checked(run_playbook(hosts), "re-run")
    print(f"first deploy (4 fresh hosts)    {first.seconds:7.2f}s   changed: {_changed(first)}")
    print(f"idempotent re-run               {rerun.seconds:7.2f}s   changed: {_changed(rerun)}")
    ratio = rerun.seconds / first.seconds
    print(f"re-run/first ratio {ratio:.2f}x   (the re-run takes {ratio:.0%} of the first deploy)")
    if any(counts["changed"] for counts in rerun.recap.values()):
        raise SystemExit("the re-run changed something: deploy.yml is not idempotent")


def _checked(run: PlaybookRun, what: str) -> PlaybookRun:
    if run.returncode != 0:
        raise SystemExit(f"{what} failed:\n{run.output[-6000:]}")
    return run


def _changed(run: PlaybookRun) -> str:
    return ", ".join(f"{host}={counts['changed']}" for host, counts in sorted(run.recap.items()))


if __name__ == "__main__":
    main()
