"""`dbrefs`: count rows whose cross-database reference points at a row missing from the other alias."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from multidb.management.options import add_alias_option
from multidb.references import BATCH, Dangling, count_dangling, cross_relations
from multidb.routing import current_table

COLUMNS = ("table", "column", "alias", "target", "rows", "ids")


class Command(BaseCommand):
    help = "Count, per table, rows whose cross-database reference (e.g. a post's author) is missing (exit 1 if any)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_alias_option(
            parser, "Only relations from or to this alias (repeatable). Default: every relation across aliases."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH,
            metavar="N",
            help=f"Ids per query when reading and checking references (default {BATCH}).",
        )
        parser.add_argument("--json", action="store_true", help="Print a JSON report instead of the table.")

    def handle(self, *args: Any, **options: Any) -> None:
        table = current_table()
        selected = options["databases"]
        unknown = [alias for alias in selected or () if alias not in table.aliases]
        if unknown:
            raise CommandError(
                f"unknown alias {', '.join(unknown)} in --database (configured: {', '.join(table.aliases)})",
                returncode=2,
            )
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1", returncode=2)
        results = [
            result
            for relation in cross_relations(table, selected)
            for result in count_dangling(relation, options["batch_size"])
        ]
        dangling = [r for r in results if r.rows]
        failed = [r for r in results if r.error]
        if options["json"]:
            report = {"ok": not dangling and not failed, "relations": [r.as_dict() for r in results]}
            self.stdout.write(json.dumps(report, indent=2, default=str))
        else:
            self._print_table(results)
        if failed:
            where = ", ".join(f"{r.table} on {r.alias}" for r in failed)
            raise CommandError(f"could not check {where}; see the error above and re-run", returncode=1)
        if dangling:
            counted = ", ".join(f"{r.table}.{r.column} on {r.alias}: {r.rows}" for r in dangling)
            raise CommandError(f"dangling references ({counted})", returncode=1)

    def _print_table(self, results: list[Dangling]) -> None:
        if not results:
            self.stdout.write("no relations across aliases to check")
            return
        cells = [dict(zip(COLUMNS, COLUMNS, strict=True))] + [
            {key: str(getattr(r, key)) for key in COLUMNS} for r in results
        ]
        widths = {key: max(len(cell[key]) for cell in cells) for key in COLUMNS}
        numeric = {"rows", "ids"}
        for cell, result in zip(cells, [None, *results], strict=True):
            line = "  ".join(
                f"{cell[key]:>{widths[key]}}" if key in numeric else f"{cell[key]:<{widths[key]}}" for key in COLUMNS
            )
            if result is None:
                self.stdout.write(self.style.MIGRATE_HEADING(line.rstrip()))
            elif result.error:
                self.stdout.write(self.style.ERROR(f"{line}  error: {result.error}"))
            elif result.rows:
                sample = ", ".join(map(str, result.sample))
                self.stdout.write(
                    self.style.ERROR(
                        f"{line}  missing ids: {sample}{' ...' if result.ids > len(result.sample) else ''}"
                    )
                )
            else:
                self.stdout.write(self.style.SUCCESS(line))
        total = sum(r.rows for r in results)
        self.stdout.write(f"{total} dangling row(s) in {len(results)} relation(s) checked")
