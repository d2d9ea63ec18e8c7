"""Failover scenarios on a running `ha` stack (docs/ha.md): a steady writer, then kill, switchover or partition."""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

from tests.e2e.test_stack import API_PASSWORD, API_USER, REPO, Stack

# compose/patroni/patroni.yml's bootstrap.dcs (interface 3 of issue 16); printed beside every RTO.
SETTINGS = {"ttl": 10, "loop_wait": 2, "retry_timeout": 4, "synchronous_mode": True, "maximum_lag_on_failover": "1 MB"}
RTO_GOAL = SETTINGS["ttl"] + SETTINGS["loop_wait"] + 5  # seconds
CTL = "/usr/local/lib/multidb-patroni/ctl.sh"
BLOG_NODES = ["db-blog-1", "db-blog-2"]
WRITE_INTERVAL = 0.1  # a write every 100 ms when the previous one returned at once
WRITE_TIMEOUT = 5.0


@dataclass
class Write:
    start: float
    end: float
    ok: bool
    title: str


@dataclass
class Outcome:
    """What a client saw around one event (kill, switchover, partition) and what the database kept."""

    scenario: str
    rto: float  # seconds from the event to the end of the first acknowledged write begun after it
    lost: int  # acknowledged writes missing on the leader afterwards: the RPO, in writes
    error_seconds: float  # from the first failed write to the start of the next acknowledged one (0: none failed)
    acknowledged: int
    failed: int = 0
    fenced: float | None = None  # partition: seconds until the old leader refused writes

    def line(self) -> str:
        fenced = "" if self.fenced is None else f", old leader fenced after {self.fenced:.1f} s"
        return (
            f"{self.scenario}: RTO {self.rto:.1f} s (goal <= {RTO_GOAL} s), RPO {self.lost} lost of "
            f"{self.acknowledged} acknowledged writes, {self.failed} failed over {self.error_seconds:.1f} s{fenced}; "
            f"{settings()}"
        )


def settings() -> str:
    return "Patroni " + ", ".join(f"{key} {value}" for key, value in SETTINGS.items())


@dataclass
class Writer:
    """Posts to /api/posts/ one at a time at a steady rate, recording every answer (HTTPS, basic auth)."""

    stack: Stack
    prefix: str = field(default_factory=lambda: f"ha-{uuid.uuid4().hex[:8]}-")
    writes: list[Write] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Writer:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=WRITE_TIMEOUT + 5)

    def succeeded_after(self, moment: float) -> bool:
        return any(w.ok and w.start >= moment for w in list(self.writes))

    def _run(self) -> None:
        context = ssl.create_default_context(cafile=str(self.stack.ca_file))
        token = base64.b64encode(f"{API_USER}:{API_PASSWORD}".encode()).decode()
        number = 0
        while not self._stop.is_set():
            title = f"{self.prefix}{number}"
            number += 1
            request = urllib.request.Request(f"{self.stack.base_url}/api/posts/", method="POST")
            request.data = json.dumps({"title": title, "content": "ha"}).encode()
            request.add_header("Content-Type", "application/json")
            request.add_header("Authorization", f"Basic {token}")
            start = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=WRITE_TIMEOUT, context=context) as response:
                    ok = response.status == 201
            except (urllib.error.URLError, OSError):
                ok = False
            end = time.monotonic()
            self.writes.append(Write(start, end, ok, title))
            time.sleep(max(0.0, WRITE_INTERVAL - (end - start)))


def container(stack: Stack, node: str) -> str:
    return f"{stack.env['COMPOSE_PROJECT_NAME']}-{node}-1"


def members(stack: Stack, nodes: list[str]) -> list[dict[str, object]]:
    """patronictl list as JSON, asked in the first node that answers (patronictl reads etcd)."""
    for node in nodes:
        command = [str(REPO / "scripts" / "compose.sh"), "exec", "-T", node, "bash", CTL, "list", "-f", "json"]
        try:  # a partitioned node's patronictl waits for etcd: ask the next one
            result = subprocess.run(command, env=stack.env, capture_output=True, text=True, timeout=20, check=False)
        except subprocess.TimeoutExpired:
            continue
        if result.returncode == 0 and result.stdout.strip().startswith("["):
            rows: list[dict[str, object]] = json.loads(result.stdout)
            return rows
    return []


def leader(stack: Stack, nodes: list[str], timeout: float = 60) -> str:
    """The node patronictl names Leader (asked again until one is, e.g. on a busy machine)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = members(stack, nodes)
        found = [str(m["Member"]) for m in rows if m["Role"] == "Leader"]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no leader within {timeout} s: {rows}"
        time.sleep(1)


def wait_healthy_pair(stack: Stack, nodes: list[str], timeout: float = 90) -> list[dict[str, object]]:
    """Until the cluster has a Leader and a running Sync Standby again."""
    deadline = time.monotonic() + timeout
    rows: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        rows = members(stack, nodes)
        roles = sorted(str(m["Role"]) for m in rows if m.get("State") in ("running", "streaming"))
        if roles == ["Leader", "Sync Standby"]:
            return rows
        time.sleep(0.5)
    raise AssertionError(f"no Leader and Sync Standby within {timeout} s: {rows}")


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=False)


def in_recovery(stack: Stack, node: str) -> str:
    """'t' or 'f' from the node's own PostgreSQL over its socket; '' when it answers nothing (writes refused)."""
    result = docker(
        "exec",
        container(stack, node),
        "psql",
        "-XtAU",
        "postgres",
        "-d",
        "postgres",
        "-c",
        "SELECT pg_is_in_recovery()",
    )
    return result.stdout.strip() if result.returncode == 0 else ""


def kill(stack: Stack, nodes: list[str] = BLOG_NODES) -> Outcome:
    """`docker kill` the leader under load; start it again afterwards, so the cluster has two nodes again."""
    old = leader(stack, nodes)
    with Writer(stack) as writer:
        time.sleep(2)
        moment = time.monotonic()
        assert docker("kill", container(stack, old)).returncode == 0
        _wait(lambda: writer.succeeded_after(moment), 60, "no write succeeded after the kill")
        time.sleep(0.5)
    outcome = _outcome("kill", writer, moment, stack, nodes)
    assert docker("start", container(stack, old)).returncode == 0
    wait_healthy_pair(stack, nodes)
    return outcome


def switchover(stack: Stack, alias: str = "blog_db", nodes: list[str] = BLOG_NODES) -> Outcome:
    """`make failover DB=<alias>` (scripts/ha.sh failover) under load."""
    with Writer(stack) as writer:
        time.sleep(2)
        moment = time.monotonic()
        result = subprocess.run(
            [str(REPO / "scripts" / "ha.sh"), "failover", alias],
            env=stack.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        switched = time.monotonic()
        _wait(lambda: writer.succeeded_after(switched), 60, "no write succeeded after the switchover")
        time.sleep(0.5)
    outcome = _outcome("switchover", writer, moment, stack, nodes)
    wait_healthy_pair(stack, nodes)
    return outcome


def partition(stack: Stack, nodes: list[str] = BLOG_NODES) -> Outcome:
    """`docker network disconnect` the leader under load: it must fence itself; reconnected, it rejoins as standby."""
    old = leader(stack, nodes)
    network = f"{stack.env['COMPOSE_PROJECT_NAME']}_default"
    with Writer(stack) as writer:
        time.sleep(2)
        moment = time.monotonic()
        assert docker("network", "disconnect", network, container(stack, old)).returncode == 0
        _wait(lambda: in_recovery(stack, old) != "f", 60, "the partitioned leader kept accepting writes")
        fenced = time.monotonic() - moment
        _wait(lambda: writer.succeeded_after(moment), 60, "no write succeeded after the partition")
        time.sleep(0.5)
    outcome = _outcome("partition", writer, moment, stack, nodes)
    outcome.fenced = fenced
    assert docker("network", "connect", "--alias", old, network, container(stack, old)).returncode == 0
    rows = wait_healthy_pair(stack, nodes)
    assert {str(m["Member"]): m["Role"] for m in rows}[old] == "Sync Standby", rows
    return outcome


def _outcome(scenario: str, writer: Writer, moment: float, stack: Stack, nodes: list[str]) -> Outcome:
    writes = writer.writes
    first = next(w for w in writes if w.ok and w.start >= moment)
    failures = [w for w in writes if not w.ok]
    errors = 0.0
    if failures:
        # From the first failed attempt to the start of the attempt that succeeded after the last failure:
        # every write tried in between failed. (Its own duration, ~1 s of password hashing for basic
        # auth on a busy machine, is not an error.)
        recovered = next((w for w in writes if w.ok and w.start > failures[-1].start), writes[-1])
        errors = recovered.start - failures[0].start
    acknowledged = {w.title for w in writes if w.ok}
    present = _titles(stack, leader(stack, nodes), writer.prefix)
    lost = len(acknowledged - present)
    return Outcome(scenario, first.end - moment, lost, errors, len(acknowledged), len(failures))


def _titles(stack: Stack, node: str, prefix: str) -> set[str]:
    sql = "SELECT title FROM blog_post WHERE starts_with(title, :'prefix')"
    return set(stack.superuser_sql(node, "blog", sql, prefix=prefix).split())


def _wait(condition: object, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"{message} within {timeout} s")
