"""scripts/restore.py's and backup.py's refusals and target choice, without a stack (the repository is faked)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import backup
import backup_stack
import restore
from backup_stack import Backup, BadInputError, Server

NOW = datetime.now(UTC)


def _server(alias: str, backups: int = 1, last_commit: timedelta | None = timedelta(minutes=-1)) -> Server:
    made = [
        Backup(f"F{i}", "full", NOW - timedelta(hours=2), NOW - timedelta(hours=1 - i / 10), 10, 10)
        for i in range(backups)
    ]
    return Server(alias, f"db-{alias}", alias, made, 1, NOW + last_commit if last_commit is not None else None)


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> dict[str, Server]:
    """Three servers whose repository `load` fills from this dict; `pgbackrest check` passes."""
    fake = {"default": _server("default"), "blog_db": _server("blog_db", last_commit=timedelta(minutes=-5)),
            "shop_db": _server("shop_db")}  # fmt: skip
    monkeypatch.setattr(restore, "servers", lambda: [Server(a, f"db-{a}", a) for a in fake])
    monkeypatch.setattr(restore, "running_services", lambda: {f"db-{a}" for a in fake})
    monkeypatch.setattr(restore, "check_repository", lambda server, **_: None)

    def load(server: Server, running: bool = True) -> Server:
        loaded = fake[server.alias]
        server.backups, server.system_id, server.last_commit = loaded.backups, 1, loaded.last_commit
        return server

    monkeypatch.setattr(restore, "load", load)
    return fake


def test_without_time_every_alias_goes_to_the_latest_time_all_reach(stack: dict[str, Server]) -> None:
    plan = restore.make_plan("", [])
    assert plan.target == stack["blog_db"].last_commit
    assert plan.everything
    ends = {server.alias: plan.to_end(server) for server in plan.servers}
    assert ends == {"default": False, "blog_db": True, "shop_db": False}  # no time target past a last commit


@pytest.mark.parametrize(
    ("time", "names", "message"),
    [
        ("yesterday", [], "cannot parse TIME='yesterday'"),
        ("2026-11-30 12:03:00", [], "has no UTC offset"),
        ((NOW + timedelta(hours=1)).isoformat(), [], "is in the future"),
        ((NOW - timedelta(days=1)).isoformat(), [], "before the earliest restorable time of default"),
        ("", ["nosuch"], "unknown alias nosuch in DB="),
    ],
    # Fixed ids: the times above change with every collection, and parallel workers must collect the same tests.
    ids=["unparsable", "no-offset", "future", "before-earliest", "unknown-alias"],
)
def test_bad_requests_are_refused(stack: dict[str, Server], time: str, names: list[str], message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        restore.make_plan(time, names)


def test_an_alias_without_backup_is_refused(stack: dict[str, Server]) -> None:
    stack["shop_db"].backups = []
    with pytest.raises(BadInputError, match="no backup of shop_db in the repository yet"):
        restore.make_plan("", ["shop_db"])


def test_one_alias_is_not_everything(stack: dict[str, Server]) -> None:
    assert not restore.make_plan("", ["blog_db"]).everything


def test_sizes_are_human() -> None:
    assert [backup_stack.size(n) for n in (10, 5000, 6 * 1024**2)] == ["10 B", "4.9 KB", "6.0 MB"]


class FakeRunner:
    """Stands for `docker compose exec` into the servers: records every command, fails `pgbackrest check`
    for the aliases in `failing` with pgBackRest's two-line error."""

    def __init__(self, failing: set[str]) -> None:
        self.failing, self.commands = failing, []  # type: list[tuple[str, ...]]

    def __call__(self, server: Server, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        self.commands.append((server.alias, *command))
        if command[:2] == ("pgbackrest", "check") and server.alias in self.failing:
            error = f"ERROR: [082]: WAL segment of {server.stanza} was not archived before the 60000ms timeout\n"
            return subprocess.CompletedProcess(command, 82, "", error + "       HINT: check the archive_command\n")
        return subprocess.CompletedProcess(command, 0, "[]", "")


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> FakeRunner:
    fake = FakeRunner({"blog_db"})
    for module in (backup_stack, backup, restore):
        monkeypatch.setattr(module, "in_server", fake)
    three = [Server(alias, f"db-{alias}", alias) for alias in ("default", "blog_db", "shop_db")]
    for module in (backup, restore):
        monkeypatch.setattr(module, "servers", lambda: [Server(s.alias, s.service, s.stanza) for s in three])
    monkeypatch.setattr(restore, "running_services", lambda: {s.service for s in three})
    return fake


def test_a_backup_against_a_repository_failing_check_is_refused_and_makes_none(
    runner: FakeRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    assert backup.main(["backup.py", "full"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "backup: the repository fails pgbackrest check for blog_db (db-blog_db): ERROR: [082]: WAL segment"
        " of blog_db was not archived before the 60000ms timeout\n"
    )
    assert not [command for command in runner.commands if "backup" in command]


def test_a_restore_against_a_repository_failing_check_is_refused_and_stops_nothing(
    runner: FakeRunner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    compose_calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(restore, "compose", lambda *args, **kwargs: compose_calls.append(args))
    assert restore.main(["restore.py", "", "blog_db"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("restore: the repository fails pgbackrest check for blog_db (db-blog_db): ERROR: [082]")
    assert err.count("\n") == 1
    assert compose_calls == []  # nothing stopped, nothing restored
    assert not [command for command in runner.commands if "restore" in command]


def test_the_refusal_quotes_pgbackrests_error_with_its_cause_not_its_hints() -> None:
    output = (
        "ERROR: [055]: unable to load info file 'a/archive.info' or 'a/archive.info.copy':\n"
        "       FileMissingError: unable to open missing file 'a/archive.info' for read\n"
        "       HINT: has a stanza-create been performed?\n"
    )
    assert backup_stack.error_line(output) == (
        "ERROR: [055]: unable to load info file 'a/archive.info' or 'a/archive.info.copy':"
        " FileMissingError: unable to open missing file 'a/archive.info' for read"
    )
    assert backup_stack.error_line("WARN: x\nERROR: [082]: not archived\n  HINT: y\n") == "ERROR: [082]: not archived"


def test_a_history_file_gives_each_ancestor_timeline_and_where_the_next_branched() -> None:
    history = "1\t0/4A3B2C0\tbefore 2026-11-30 22:47:56+00\n\n2\t1/0\tno recovery target specified\n"
    assert backup_stack.branches(history) == {1: 0x4A3B2C0, 2: 1 << 32}
    assert backup_stack.branches("") == {}


def test_after_a_point_in_time_restore_the_backups_of_the_abandoned_future_are_not_restored_from(
    stack: dict[str, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by restoring a stack twice to the same TIME: the incremental taken on timeline 1 after timeline 2
    # branched off was picked (pgBackRest takes the newest), and PostgreSQL stopped: no checkpoint record.
    blog = stack["blog_db"]
    full = Backup("F", "full", NOW - timedelta(hours=2), NOW - timedelta(hours=1), 10, 10, 1, 0x2000100)
    after_branch = Backup("F_I", "incr", NOW - timedelta(minutes=50), NOW - timedelta(minutes=50), 1, 10, 1, 0x6000050)
    blog.backups, blog.last_commit = [full, after_branch], NOW - timedelta(minutes=30)
    blog.branches = {1: 0x4A3B2C0}  # timeline 2 left timeline 1 before the incremental's end
    original_load = restore.load

    def load_with_history(server: Server, running: bool = True) -> Server:
        original_load(server, running)
        server.branches = stack[server.alias].branches
        return server

    monkeypatch.setattr(restore, "load", load_with_history)
    everything = restore.make_plan("", [])
    to_time = restore.make_plan((NOW - timedelta(minutes=40)).isoformat(), ["blog_db"])

    assert everything.backup_sets["blog_db"] == "F"  # not F_I, the newest set
    assert to_time.backup_sets["blog_db"] == "F"
    blog.branches = {1: 0x7000000}  # had the branch come after it, the incremental would be the one
    assert restore.make_plan("", ["blog_db"]).backup_sets["blog_db"] == "F_I"


def test_a_server_that_is_not_running_is_restored_from_its_repository_read_beside_it(
    stack: dict[str, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found after a failed restore left blog's server restarting: exec into it failed, so no restore could mend it.
    checked: list[str] = []
    read: dict[str, bool] = {}
    monkeypatch.setattr(restore, "running_services", lambda: {"db-default", "db-shop_db"})
    monkeypatch.setattr(restore, "check_repository", lambda server, **_: checked.append(server.alias))

    def load(server: Server, running: bool = True) -> Server:
        read[server.alias] = running
        loaded = stack[server.alias]
        server.backups, server.system_id, server.last_commit = loaded.backups, 1, loaded.last_commit
        return server

    monkeypatch.setattr(restore, "load", load)
    plan = restore.make_plan("", [])

    assert sorted(checked) == ["default", "shop_db"]  # pgbackrest check needs a running server
    assert read == {"default": True, "blog_db": False, "shop_db": True}
    assert set(plan.backup_sets) == {"default", "blog_db", "shop_db"}


def test_the_restorable_times_leave_out_the_backups_of_an_abandoned_timeline() -> None:
    full = Backup("F", "full", NOW - timedelta(hours=2), NOW - timedelta(hours=1), 10, 10, 1, 0x2000100)
    after_branch = Backup("F_I", "incr", NOW - timedelta(minutes=50), NOW - timedelta(minutes=50), 1, 10, 1, 0x6000050)
    server = Server("blog_db", "db-blog", "blog", [full, after_branch], 1, None, {1: 0x4A3B2C0})

    assert [backup.label for backup in server.restorable_backups()] == ["F"]
    assert (server.earliest, server.latest) == (full.stop, full.stop)


def test_a_commit_made_before_the_app_stops_but_after_time_is_not_replayed(
    stack: dict[str, Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found on a running stack: the plan saw shop's archive end before TIME (replay all of it), then a commit
    # landed before the app stopped, was archived at shutdown and replayed, though it came after TIME.
    target = NOW - timedelta(seconds=30)
    calls: list[tuple[str, ...]] = []
    replayed: dict[str, bool] = {}

    def compose(*args: str, **_: object) -> None:
        calls.append(args)
        if args[:2] == ("stop", "app"):  # the app's last commit, archived when the servers are checked again
            stack["shop_db"].last_commit = NOW - timedelta(seconds=5)

    def restored(plan: restore.Plan, server: Server) -> str:
        replayed[server.alias] = plan.to_end(server)
        return server.alias

    monkeypatch.setattr(restore, "compose", compose)
    monkeypatch.setattr(restore, "restore", restored)
    monkeypatch.setattr(restore, "checks", lambda plan: 0)
    stack["shop_db"].last_commit = NOW - timedelta(minutes=5)
    assert restore.main(["restore.py", target.isoformat()]) == 0
    assert replayed == {"default": True, "blog_db": True, "shop_db": False}  # shop to TIME, not to its end
    assert [args[0] for args in calls] == ["stop", "stop", "up"]
    assert calls[0][:2] == ("stop", "app") and "db-shop_db" not in calls[0]  # the writers first, servers after
    assert calls[1] == ("stop", "db-default", "db-blog_db", "db-shop_db")


def test_a_restore_refused_after_the_writers_stopped_starts_them_again(
    stack: dict[str, Server], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[str, ...]] = []

    def compose(*args: str, **_: object) -> None:
        calls.append(args)
        if args[:2] == ("stop", "app"):
            stack["shop_db"].last_commit = NOW  # after TIME, and shop's only backup ends after TIME too
            stack["shop_db"].backups = [Backup("F9", "full", NOW - timedelta(seconds=20), NOW, 10, 10)]

    monkeypatch.setattr(restore, "compose", compose)
    monkeypatch.setattr(restore, "restore", lambda plan, server: pytest.fail("restored after a refusal"))
    target = NOW - timedelta(seconds=10)
    stack["shop_db"].last_commit = NOW - timedelta(minutes=5)
    assert restore.main(["restore.py", target.isoformat()]) == 2
    assert capsys.readouterr().err.startswith("restore: no backup of shop_db on its current timeline ends by")
    assert [args[0] for args in calls] == ["stop", "up"]  # the servers never stopped; the writers back up
