"""`dbhealth`: the /readyz check from the command line; exit 1 when any alias is not ready."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from multidb.health import AliasHealth, check_databases
from multidb.status import HealthStatus


class Command(BaseCommand):
    help = "Check that every database alias answers and is fully migrated (exit 1 if not)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--timeout", type=float, help="Seconds to wait for each alias (default: health.timeout).")
        parser.add_argument("--json", action="store_true", help="Print the /readyz JSON instead of text.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = check_databases(options["timeout"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            width = max(len(alias) for alias in report.databases)
            for alias, result in report.databases.items():
                lag = f", lag {result.lag_seconds:.1f}s" if result.lag_seconds is not None else ""
                role = " (replica)" if result.replica else _nodes(result)
                if result.status == HealthStatus.OK:
                    line = self.style.SUCCESS(f"ok     {result.latency_ms:.1f} ms{lag}{role}")
                elif result.replica:
                    line = self.style.WARNING(f"{result.status}: {result.error}{role}")
                else:
                    line = self.style.ERROR(f"{result.status}: {result.error}")
                self.stdout.write(f"{alias:<{width}}  {line}")
        if not report.ok:
            raise CommandError(f"not ready: {', '.join(report.failing)}", returncode=1)


def _nodes(result: AliasHealth) -> str:
    """` (leader db-blog-1; standby db-blog-2 ok, lag 0 B)` for an alias of several nodes, else ``."""
    if not result.nodes or result.leader is None:
        return ""
    standbys = [
        f"standby {s['host']} {s['status']}" + ("" if s["lag_bytes"] is None else f", lag {s['lag_bytes']} B")
        for s in result.standbys
    ]
    return f" (leader {'; '.join([result.leader, *standbys])})"
