"""`rehearse_migrations`: run the release's migrations on clone servers of this environment's databases."""

from __future__ import annotations

import signal
import threading
import time
from argparse import ArgumentParser
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from multidb.management.options import add_alias_option
from multidb.rehearsal.errors import RehearsalError
from multidb.rehearsal.report import Report
from multidb.routing import current_table


class Command(BaseCommand):
    help = "Copy each migratable database into a throwaway container, run migrate_all there, and report."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_alias_option(parser, "Rehearse only this alias (repeatable); the alias holding its history is copied too.")
        parser.add_argument(
            "--allow-writable-source",
            action="store_true",
            help="Copy even through a connection that could write (the rehearsal's own sessions stay read-only).",
        )
        parser.add_argument("--schema-only", action="store_true", help="Copy the schema without rows (faster).")
        parser.add_argument("--jobs", type=int, default=1, metavar="N", help="migrate_all --jobs on the copies.")
        parser.add_argument(
            "--dump-jobs",
            type=int,
            default=1,
            metavar="N",
            help="1 (default): stream pg_dump into pg_restore; N > 1: directory format, pg_dump/pg_restore -j N.",
        )
        parser.add_argument(
            "--image", help="PostgreSQL image for the copies (default: build/images.env); same major as the source."
        )
        parser.add_argument(
            "--pg-tools",
            choices=("auto", "host", "container"),
            default="auto",
            help="Where pg_dump/pg_restore run: the host's of the source's major (auto prefers them) or a container.",
        )
        parser.add_argument(
            "--output", metavar="DIR", help="Directory for report.md and report.json (default: build/rehearsals/...)."
        )
        parser.add_argument("--json", action="store_true", help="No progress; print the JSON report on stdout.")
        _add_watch_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        from multidb.rehearsal.findings import Thresholds
        from multidb.rehearsal.runner import Options, rehearse  # imports Testcontainers: only when rehearsing
        from multidb.rehearsal.watch import WatchOptions

        table = current_table()
        selected = tuple(options["databases"] or ())
        wrong = [alias for alias in selected if alias not in table.migratable]
        if wrong:
            raise CommandError(
                f"not a migratable alias: {', '.join(wrong)} (migratable: {', '.join(table.migratable)})", returncode=2
            )
        if options["jobs"] < 1 or options["dump_jobs"] < 1:
            raise CommandError("--jobs and --dump-jobs must be at least 1", returncode=2)
        if min(options["lock_threshold"], options["lock_min_rows"], options["canary_wait"]) < 0:
            raise CommandError("--lock-threshold, --lock-min-rows and --canary-wait must be 0 or more", returncode=2)
        limits = Thresholds(options["lock_threshold"], options["lock_min_rows"], options["canary_wait"])
        watch = WatchOptions(canary=not options["no_canary"], sample=not options["no_lock_sampling"], limits=limits)
        quiet = options["json"]
        started, lock = time.monotonic(), threading.Lock()
        width = max(len(alias) for alias in table.aliases)

        def progress(alias: str, message: str) -> None:
            if not quiet:
                with lock:
                    self.stdout.write(f"{time.monotonic() - started:7.2f}s  {alias:<{width}}  {message}")

        if not quiet:
            self.stdout.write(
                f"Rehearsing migrate_all on copies of {settings.CONFIG_PATH} ({settings.CONFIG.environment})"
            )
        previous = signal.signal(signal.SIGTERM, _interrupt)  # so the clone servers go on `kill` as on Ctrl-C
        try:
            report = rehearse(
                settings.CONFIG,
                table,
                settings.DATABASES,
                config_path=str(settings.CONFIG_PATH),
                base_dir=Path(settings.BASE_DIR),
                options=Options(databases=selected, watch=watch, **{key: options[key] for key in _PASSED_ON}),
                progress=progress,
            )
        except RehearsalError as error:
            raise CommandError(str(error), returncode=2) from None
        except KeyboardInterrupt:
            raise CommandError(
                "interrupted; no report; the rehearsal's containers were removed "
                "(any left would show in `docker ps -a --filter label=multidb.rehearsal`)",
                returncode=130,
            ) from None
        finally:
            signal.signal(signal.SIGTERM, previous)
        output = Path(options["output"]) if options["output"] else self._default_output(report)
        self._write(report, output)
        if quiet:
            self.stdout.write(report.as_json())
        else:
            self._summary(report, output)
        self._finish(report, output, options["fail_on"])

    def _default_output(self, report: Report) -> Path:
        stamp = report.started.replace("-", "").replace(":", "").removesuffix("+0000") + "Z"
        return Path(settings.BASE_DIR) / "build" / "rehearsals" / f"{report.environment}-{stamp}-{report.run_id}"

    def _write(self, report: Report, output: Path) -> None:
        try:
            output.mkdir(parents=True, exist_ok=True)
            (output / "report.json").write_text(report.as_json() + "\n", encoding="utf-8")
            (output / "report.md").write_text(report.as_markdown(), encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot write the report to {output}: {error.strerror}", returncode=2) from None

    def _summary(self, report: Report, output: Path) -> None:
        width = max(len(alias) for alias in report.aliases)
        for entry in report.aliases.values():
            if entry.status == "failed":
                where = f" in {entry.failed_migration}" if entry.failed_migration else ""
                line = self.style.ERROR(f"would fail{where}: {entry.error}")
            elif not entry.migrated:
                line = self.style.SUCCESS("copied for the migration history it holds (not migrated)")
            else:
                applied = ", ".join(f"{m['migration']} {m['seconds']:.2f}s" for m in entry.migrations)
                line = self.style.SUCCESS(f"ok      {applied or 'nothing to apply'}")
            self.stdout.write(f"{entry.alias:<{width}}  {line}")
            if entry.findings:
                levels = [sum(f["severity"] == lv for f in entry.findings) for lv in ("dangerous", "incompatible")]
                rules = ", ".join(sorted({f["rule"] for f in entry.findings}))
                self.stdout.write(
                    f"{'':<{width}}  "
                    + self.style.WARNING(f"findings: {levels[0]} dangerous, {levels[1]} incompatible ({rules})")
                )
        untouched = "unchanged" if report.source_unchanged else self.style.WARNING("CHANGED or not verified")
        containers = (
            f"{len(report.containers)} container(s) removed"
            if not report.leftovers
            else self.style.ERROR(f"could not remove {', '.join(report.leftovers)}")
        )
        self.stdout.write(f"source: {untouched}; {containers}; total {report.seconds:.1f}s")
        self.stdout.write(f"report: {output / 'report.md'} (and report.json)")

    def _finish(self, report: Report, output: Path, fail_on: str) -> None:
        from multidb.rehearsal.findings import failing

        if report.ok:
            found = failing(report.findings, fail_on)
            if found:
                listed = "; ".join(f"{f['migration']}: {f['rule']}" for f in found[:5])
                raise CommandError(
                    f"{len(found)} finding(s) at --fail-on {fail_on}: {listed}{'...' if len(found) > 5 else ''}; "
                    f"see {output / 'report.md'}",
                    returncode=1,
                )
            return
        failed = [
            f"{e.alias}" + (f" in {e.failed_migration}" if e.failed_migration else "") + f" ({e.error})"
            for e in report.failed
        ]
        raise CommandError(
            f"migrate_all would fail on {'; '.join(failed)}; the other aliases were still rehearsed; "
            f"see {output / 'report.md'}",
            returncode=1,
        )


def _add_watch_arguments(parser: ArgumentParser) -> None:
    """The options of what a rehearsal watches and flags (issue 15): levels, thresholds, previous release."""
    parser.add_argument(
        "--fail-on",
        choices=("dangerous", "incompatible", "none"),
        default="incompatible",
        help="Exit 1 on findings of this level: dangerous (locks, blocked traffic, rewrites) counts incompatible "
        "ones too; incompatible (drops, renames, what the owner may not run); none. Default: incompatible.",
    )
    parser.add_argument(
        "--lock-threshold",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="Flag a lock blocking writes (SHARE and up) held at least this long (default 1).",
    )
    parser.add_argument(
        "--lock-min-rows",
        type=int,
        default=10_000,
        metavar="N",
        help="...on a table of at least N rows (default 10000).",
    )
    parser.add_argument(
        "--canary-wait",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="Flag a migration during which a canary query waited this long (default 1).",
    )
    parser.add_argument(
        "--previous-release",
        metavar="REF_OR_DIR",
        help="After migrating, run this release (a git ref of this checkout, or a release directory with "
        "app/manage.py) against the copies: a read and a write of every model; what breaks is incompatible.",
    )
    parser.add_argument("--no-canary", action="store_true", help="No canary traffic during the migrations.")
    parser.add_argument("--no-lock-sampling", action="store_true", help="Do not sample pg_locks during the migrations.")


# The command's options that are rehearsal Options of the same name.
_PASSED_ON = ("allow_writable_source", "schema_only", "jobs", "dump_jobs", "image", "pg_tools", "previous_release")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
