"""`dbtopology`: print a config's aliases as the deployments read them (no secrets), e.g. each alias's timeouts."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from multidb.errors import ConfigError
from multidb.topology import load_topology


class Command(BaseCommand):
    help = "Print each alias of a config (the running one by default) with its timeouts, secrets left out."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--config", type=Path, help="The YAML file to read (default: the app's, APP_CONFIG/APP_ENV)."
        )
        parser.add_argument("--format", choices=["json", "text"], default="text", help="Output format.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["config"] or settings.CONFIG_PATH
        try:
            exported = load_topology(path, settings.INSTALLED_APPS).export()
        except ConfigError as error:
            raise CommandError(f"config error: {error}", returncode=2) from None
        if options["format"] == "json":
            self.stdout.write(json.dumps(exported, indent=2))
            return
        for alias, entry in exported.items():
            timeouts = " ".join(f"{key}={value}" for key, value in entry["timeouts"].items())
            self.stdout.write(f"{alias}  {entry['engine']} {entry['host']}/{entry['name']}  timeouts(ms): {timeouts}")
