"""`dbroutes`: print the routing table — for each app, where it reads, writes, migrates and records history."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand

from multidb.routing import Route, RoutingTable, current_table


class Command(BaseCommand):
    help = "Print the routing table: app -> read, write, migrate and history alias."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the table as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        table = current_table()
        rows = []
        for config in sorted(apps.get_app_configs(), key=lambda config: config.label):
            rows.append(_row(config.label, table.route(config.label), table))
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        header = {"app": "app", "read": "read", "write": "write", "migrate": "migrate", "history": "history"}
        cells = [header] + [{**row, "read": ",".join(row["read"])} for row in rows]
        widths = {key: max(len(str(cell[key])) for cell in cells) for key in header}
        for index, cell in enumerate(cells):
            line = "  ".join(f"{cell[key]!s:<{widths[key]}}" for key in header).rstrip()
            self.stdout.write(self.style.MIGRATE_HEADING(line) if index == 0 else line)


def _row(label: str, route: Route, table: RoutingTable) -> dict[str, Any]:
    if route.shard is not None:
        shards = ",".join(route.shard.aliases)
        where = f"{shards} by {route.shard.key} ({route.shard.strategy})"
        return {
            "app": label,
            "read": [where],
            "write": where,
            "migrate": shards,
            "history": _shard_history(route, table),
        }
    return {
        "app": label,
        # Replicas serve reads unless this client just wrote, or they are down or lagging.
        "read": list(route.replicas) or [route.home],
        "write": route.home,
        "migrate": route.migrate or "-",
        "history": route.history or "-",
    }


def _shard_history(route: Route, table: RoutingTable) -> str:
    """Where the shards record their history: "each shard" only when each really keeps its own."""
    assert route.shard is not None  # noqa: S101 - called for sharded routes only
    aliases = route.shard.aliases
    histories = [table.migratable.get(alias, "-") for alias in aliases]
    if histories == list(aliases):
        return "each shard"
    return ",".join(dict.fromkeys(histories))
