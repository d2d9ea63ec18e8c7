"""The dump: one source's database into its clone server, pg_dump from the source into pg_restore there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .clone_server import LABEL, CloneServer
from .source import READ_ONLY_OPTIONS, Source

# Owners and grants are restored (owner.recreate() made the source's roles first: the clone is migrated as the
# owner role); tablespaces and replication objects are not: a subscription restored there would connect to
# other servers.
_RESTORE_FILTERS = (
    "--no-tablespaces",
    "--no-publications",
    "--no-subscriptions",
    "--no-security-labels",
    "--exit-on-error",
)


# pg_dump and pg_restore processes running now, so an interruption can stop them (see stop_dumps).
_RUNNING: set[subprocess.Popen[bytes]] = set()
_RUNNING_LOCK = threading.Lock()


class DumpError(Exception):
    """pg_dump or pg_restore failed; the message names which one and its last error line."""


@dataclass
class DumpResult:
    method: str  # how the dump was made, for the report
    seconds: float
    dump_bytes: int | None = None  # directory format only (a stream is not stored)


@dataclass(frozen=True)
class DumpTools:
    """Where pg_dump and pg_restore of the source's major version run: a host directory, or the clone image."""

    major: int
    bin_dir: Path | None  # None: run them in containers of the clone server's image

    @property
    def description(self) -> str:
        # "copy" as in the report's wording (an interface: see the package docstring)
        return f"host {self.bin_dir}" if self.bin_dir else "in containers of the copy's image"


def find_dump_tools(major: int, where: str = "auto") -> DumpTools:
    """Host pg_dump/pg_restore of exactly `major` (a newer pg_dump may emit SQL an older server refuses), else
    the clone server's image; `where` forces "host" or "container"."""
    if where == "container":
        return DumpTools(major, None)
    which = shutil.which("pg_dump")
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin"), *([Path(which).parent] if which else [])]
    for directory in candidates:
        if _tool_major(directory / "pg_dump") == major and (directory / "pg_restore").exists():
            return DumpTools(major, directory)
    if where == "host":
        raise DumpError(f"no pg_dump {major} on this host (looked in {', '.join(map(str, candidates))})")
    return DumpTools(major, None)


def dump_and_restore(
    source: Source,
    server: CloneServer,
    tools: DumpTools,
    *,
    snapshot: str,
    jobs: int,
    without_rows: Iterable[str],
    run_id: str,
) -> DumpResult:
    """Dump `source` (in the exported `snapshot`) and restore it into the clone `server`; the tables named in
    `without_rows` ("schema.table") get their schema but none of their rows.

    One job: pg_dump streams the custom format straight into pg_restore, so both run at once.
    Several (host tools only): directory format, `pg_dump -j N` then `pg_restore -j N`.
    """
    dump_args = ["--no-password", "--compress=0", "--lock-wait-timeout=60s", f"--snapshot={snapshot}"]
    dump_args += [f"--exclude-table-data={_pattern(name)}" for name in without_rows]
    started = time.monotonic()
    if jobs > 1 and tools.bin_dir is not None:
        with tempfile.TemporaryDirectory(prefix=f"rehearsal-{server.alias}-") as workdir:
            target = Path(workdir) / "dump"
            dump = [*_dump(source, server, tools, run_id), *dump_args, "--format=directory", f"--jobs={jobs}"]
            _run([*dump, "-f", str(target)], _env(source.password, READ_ONLY_OPTIONS))
            size = sum(path.stat().st_size for path in target.rglob("*") if path.is_file())
            _run([*_restore(server, tools), f"--jobs={jobs}", str(target)], _env(server.password))
        return DumpResult(f"pg_dump -Fd -j {jobs}, pg_restore -j {jobs}", time.monotonic() - started, size)
    dump = [*_dump(source, server, tools, run_id), *dump_args, "--format=custom"]
    _stream(dump, _restore(server, tools), source, server)
    return DumpResult("pg_dump -Fc streamed into pg_restore", time.monotonic() - started)


def _dump(source: Source, server: CloneServer, tools: DumpTools, run_id: str) -> list[str]:
    """pg_dump's argv up to its options; the password and read-only session options travel in the environment.
    Without host tools it runs in a container of the clone server's image on the host's network (it reaches
    what the host reaches), labelled like the clone servers."""
    if tools.bin_dir is not None:
        return [str(tools.bin_dir / "pg_dump"), f"--dbname={source.dsn}"]
    docker = ["docker", "run", "--rm", "-i", "--network=host", f"--label={LABEL}={run_id}"]
    return [*docker, "-e", "PGPASSWORD", "-e", "PGOPTIONS", server.image, "pg_dump", f"--dbname={source.dsn}"]


def _restore(server: CloneServer, tools: DumpTools) -> list[str]:
    if tools.bin_dir is not None:
        conninfo = " ".join(f"{key}={value}" for key, value in server.conninfo().items())
        return [str(tools.bin_dir / "pg_restore"), "--no-password", f"--dbname={conninfo}", *_RESTORE_FILTERS]
    # Inside the clone server's own container: its pg_restore, over the local socket (trusted there).
    docker = ["docker", "exec", "-i", str(server.container_id)]
    return [*docker, "pg_restore", "-U", "postgres", "-d", server.dbname, *_RESTORE_FILTERS]


def _stream(dump_argv: list[str], restore_argv: list[str], source: Source, server: CloneServer) -> None:
    with tempfile.TemporaryFile() as dump_err, tempfile.TemporaryFile() as restore_err:
        dump = _start(dump_argv, stdout=subprocess.PIPE, stderr=dump_err, env=_env(source.password, READ_ONLY_OPTIONS))
        try:
            restore = _start(restore_argv, stdin=dump.stdout, stderr=restore_err, env=_env(server.password))
        finally:
            if dump.stdout is not None:
                dump.stdout.close()  # pg_restore holds the read end; pg_dump sees EPIPE if it dies
        restore_code, dump_code = _wait(restore), _wait(dump)
        if dump_code != 0:
            raise DumpError(f"pg_dump failed: {_last_error(dump_err)}")
        if restore_code != 0:
            raise DumpError(f"pg_restore failed: {_last_error(restore_err)}")


def stop_dumps() -> None:
    """Terminate every pg_dump and pg_restore still running: after an interruption, so their threads end."""
    with _RUNNING_LOCK:
        for process in _RUNNING:
            process.terminate()


def _start(argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(argv, **kwargs)  # noqa: S603 - argv built in this module, no shell
    with _RUNNING_LOCK:
        _RUNNING.add(process)
    return process


def _wait(process: subprocess.Popen[bytes]) -> int:
    code = process.wait()
    with _RUNNING_LOCK:
        _RUNNING.discard(process)
    return code


def _pattern(name: str) -> str:
    """A pg_dump pattern matching exactly the table "schema.table" (quoted: no wildcards, no case folding)."""
    schema, table = name.split(".", 1)
    return ".".join('"' + part.replace('"', '""') + '"' for part in (schema, table))


def _run(argv: list[str], environ: dict[str, str]) -> None:
    tool = Path(argv[0]).name
    with tempfile.TemporaryFile() as errors:
        code = _wait(_start(argv, stderr=errors, stdout=subprocess.DEVNULL, env=environ))
        if code != 0:
            raise DumpError(f"{tool} failed: {_last_error(errors)}")


def _env(password: str, options: str | None = None) -> dict[str, str]:
    """The caller's environment without libpq variables (PGSERVICE, PGOPTIONS...), plus ours."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    environ["PGPASSWORD"] = password
    if options:
        environ["PGOPTIONS"] = options
    return environ


def _last_error(stream: IO[bytes]) -> str:
    stream.seek(0)
    lines = [line.strip() for line in stream.read().decode(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()]
    return (errors or lines or ["no output"])[0]


def _tool_major(path: Path) -> int | None:
    if not path.exists():
        return None
    output = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=False).stdout  # noqa: S603
    match = re.search(r"\s(\d+)(?:\.\d+)?", output)
    return int(match.group(1)) if match else None
