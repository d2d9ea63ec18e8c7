"""`migrate_all`: migrate every migratable alias and report one aligned line per alias."""

from __future__ import annotations

import json
import os
import threading
import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections

from multidb.history import sqlite_file_missing
from multidb.last_run import record_run
from multidb.management.options import add_alias_option
from multidb.migrator import AliasResult, migrate_all
from multidb.pending_models import missing_migrations
from multidb.routing import current_table
from multidb.status import MigrateStatus
from multidb.text import one_line


class Command(BaseCommand):
    help = "Migrate every migratable database alias (default first) and report one line per alias."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_alias_option(parser, "Migrate only this alias (repeatable). Default: every configured alias.")
        parser.add_argument(
            "--jobs",
            type=int,
            default=1,
            metavar="N",
            help="Migrate up to N aliases at once after default (default 1).",
        )
        parser.add_argument("--plan", action="store_true", help="Print what would run on each alias; change nothing.")
        parser.add_argument(
            "--check", action="store_true", help="Exit 1 if any migration is unapplied; change nothing."
        )
        parser.add_argument("--fail-fast", action="store_true", help="Stop at the first failing alias.")
        parser.add_argument(
            "--skip-makemigrations", action="store_true", help="In local development, do not run makemigrations first."
        )
        parser.add_argument(
            "--json",
            metavar="FILE",
            dest="json_report",
            help="Also write a JSON report to FILE ('-' for stdout, which silences the text output).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        table = current_table()
        selected = list(dict.fromkeys(options["databases"] or table.aliases))  # a repeated alias counts once
        unknown = [alias for alias in selected if alias not in table.aliases]
        if unknown:
            raise CommandError(
                f"unknown alias {', '.join(unknown)} in --database (configured: {', '.join(table.aliases)})",
                returncode=2,
            )
        if options["jobs"] < 1:
            raise CommandError("--jobs must be at least 1", returncode=2)
        quiet = options["json_report"] == "-"
        if options["json_report"] and not quiet:
            _check_writable(options["json_report"])  # before anything is migrated, not after
        read_only = options["plan"] or options["check"]
        self._prepare_migration_files(
            write=settings.MULTIDB_WRITES_MIGRATIONS and not read_only,
            skip=options["skip_makemigrations"],
            verbosity=0 if quiet else options["verbosity"],
        )

        started = time.monotonic()
        print_lock = threading.Lock()

        def progress(alias: str, message: str) -> None:
            if not quiet and options["verbosity"] >= 1:
                with print_lock:
                    self.stdout.write(f"  {alias}: {message}")

        if not quiet:
            verb = "Planning" if read_only else "Migrating"
            self.stdout.write(
                f"{verb} {len(selected)} database(s): {', '.join(a for a in table.aliases if a in selected)}"
            )
        results = migrate_all(
            table,
            selected,
            jobs=options["jobs"],
            fail_fast=options["fail_fast"],
            plan_only=read_only,
            progress=progress,
        )
        elapsed = time.monotonic() - started
        if options["json_report"]:
            self._write_json(options["json_report"], results, elapsed, read_only)
        if not read_only:
            self._record(results, elapsed)
        if not quiet:
            self._print_summary(results, read_only)
        if options["traceback"]:
            for result in results:
                if result.traceback:
                    self.stderr.write(f"Traceback of {result.alias}:\n{result.traceback}")
        self._finish(results, options["check"], options["fail_fast"])

    def _prepare_migration_files(self, write: bool, skip: bool, verbosity: int) -> None:
        if write and not skip:
            # makemigrations reads each alias's history: give SQLite files their folder first.
            for alias in connections:
                if sqlite_file_missing(connections[alias]):
                    Path(connections[alias].settings_dict["NAME"]).parent.mkdir(parents=True, exist_ok=True)
            try:
                call_command(
                    "makemigrations",
                    interactive=False,
                    verbosity=verbosity,
                    stdout=self.stdout,
                )
            except DatabaseError as error:  # it reads every alias's history first
                raise CommandError(
                    f"makemigrations could not read a database ({one_line(error)}); fix it, or "
                    f"re-run with --skip-makemigrations",
                    returncode=1,
                ) from None
            return
        if write and skip:
            return
        missing = missing_migrations()
        if missing:
            described = "; ".join(f"{label} ({', '.join(changes)})" for label, changes in missing.items())
            raise CommandError(
                f"models have changes without migrations: {described}; run "
                f"`python app/manage.py makemigrations` in development and commit the files",
                returncode=2,
            )

    def _record(self, results: list[AliasResult], elapsed: float) -> None:
        """Keep this run for the status page; a failure to record never fails the migration."""
        try:
            record_run(results, elapsed)
        except Exception as error:  # noqa: BLE001 - e.g. default itself is down: the summary says so already
            self.stderr.write(f"migrate_all: this run was not recorded for the status page ({one_line(error)})")
        finally:
            connections.close_all()

    def _print_summary(self, results: list[AliasResult], read_only: bool) -> None:
        width = max(len(result.alias) for result in results)
        for result in results:
            self.stdout.write(f"{result.alias:<{width}}  {self._describe(result, read_only)}")

    def _describe(self, result: AliasResult, read_only: bool) -> str:
        history = f", history in {result.history}" if result.history and result.history != result.alias else ""
        if result.status == MigrateStatus.SKIPPED:
            return self.style.WARNING(f"skipped: {result.reason}")
        if result.status == MigrateStatus.FAILED:
            where = f" in {result.failed_migration}" if result.failed_migration else ""
            return self.style.ERROR(f"failed{where}: {result.reason}")
        own = [step.migration for step in result.applied]
        noops = len(result.steps) - len(own)
        noop_note = f" (+{noops} recorded as no-op here)" if noops else ""
        if result.recreated:  # the history said applied, the tables were gone: say why they run again
            noop_note += (
                f" (re-{'creating' if read_only else 'created'} {len(result.recreated)} whose tables were lost)"
            )
        if read_only:
            if not result.steps:
                return self.style.SUCCESS(f"up to date{history}")
            listing = ", ".join(own) if own else "no schema changes"
            return self.style.WARNING(f"would apply {len(own)}: {listing}{noop_note}{history}")
        if not result.steps:
            return self.style.SUCCESS(f"ok      nothing to apply{history}  {result.seconds:.2f}s")
        return self.style.SUCCESS(f"ok      {len(own)} applied{noop_note}{history}  {result.seconds:.2f}s")

    def _write_json(self, target: str, results: list[AliasResult], elapsed: float, read_only: bool) -> None:
        report = {
            "ok": all(result.status != MigrateStatus.FAILED for result in results),
            "mode": "plan" if read_only else "migrate",
            "seconds": round(elapsed, 3),
            "aliases": [result.as_dict() for result in results],
        }
        text = json.dumps(report, indent=2)
        if target == "-":
            self.stdout.write(text)
            return
        try:
            with open(target, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
        except OSError as error:
            raise CommandError(f"cannot write the JSON report to {target}: {error.strerror}", returncode=2) from None

    def _finish(self, results: list[AliasResult], check: bool, fail_fast: bool) -> None:
        failed = [result.alias for result in results if result.status == MigrateStatus.FAILED]
        if failed:
            skipped = [
                r.alias for r in results if r.status == MigrateStatus.SKIPPED and r.reason and "fail-fast" in r.reason
            ]
            others = (
                f"--fail-fast skipped {', '.join(skipped)}"
                if fail_fast and skipped
                else "the others were still processed"
            )
            raise CommandError(
                f"migrate_all failed on {', '.join(failed)} ({len(failed)} of {len(results)} "
                f"aliases); {others}; fix it and re-run",
                returncode=1,
            )
        pending = [result.alias for result in results if result.steps]
        if check and pending:
            raise CommandError(f"unapplied migrations on {', '.join(pending)}; run migrate_all", returncode=1)


def _check_writable(target: str) -> None:
    """Exit 2 now if the JSON report could not be written later: its folder is missing or not writable."""
    path = Path(target)
    folder = path.parent if str(path.parent) else Path(".")
    problem = None
    if path.is_dir():
        problem = "it is a directory"
    elif not folder.is_dir():
        problem = f"folder {folder} does not exist"
    elif not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        problem = "permission denied"
    if problem:
        raise CommandError(
            f"cannot write the JSON report to {target}: {problem}; nothing was migrated (choose another --json path)",
            returncode=2,
        )
