"""migrate_all on three SQLite files, checked by reading the files with sqlite3, not through the ORM."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests import crash_manage
from tests.unit.cli import local_config, manage

AUTH_TABLES = {
    "auth_user",
    "auth_group",
    "auth_permission",
    "django_session",
    "django_admin_log",
    "django_content_type",
}
BLOG_TABLES = {"blog_post", "blog_comment"}
SHOP_TABLES = {"shop_product", "shop_order"}


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def checksums(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.glob("*.sqlite3"))}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return local_config(tmp_path)


def test_migrate_all_puts_each_apps_tables_in_its_own_file(tmp_path: Path, config: Path) -> None:
    result = manage("migrate_all", config=config)

    assert result.returncode == 0, result.stderr
    # Progress, one line per migration as it is applied, for the alias that applied it.
    assert re.search(r"^  blog_db: applied blog\.0001_initial \(\d+\.\d{3}s\)$", result.stdout, re.M), result.stdout
    assert re.search(r"^  default: applied auth\.0001_initial \(\d+\.\d{3}s\)$", result.stdout, re.M), result.stdout
    summary = result.stdout.strip().splitlines()[-3:]
    assert [line.split()[0:2] for line in summary] == [["default", "ok"], ["blog_db", "ok"], ["shop_db", "ok"]]
    assert len({line.index("ok") for line in summary}) == 1  # aligned
    main, blog, shop = (tables(tmp_path / f"{name}.sqlite3") for name in ("db", "blog", "shop"))
    assert AUTH_TABLES <= main and not (BLOG_TABLES | SHOP_TABLES) & main
    assert BLOG_TABLES <= blog and not (SHOP_TABLES | AUTH_TABLES) & blog
    assert SHOP_TABLES <= shop and not (BLOG_TABLES | AUTH_TABLES) & shop
    # blog_db has migrate_to: default -> its history is in the main file, and none in its own.
    assert "django_migrations" not in blog
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        history = set(db.execute("SELECT database, app, name FROM multidb_migration_history"))
    assert ("blog_db", "blog", "0001_initial") in history
    assert {row[0] for row in history} == {"blog_db"}
    # post_migrate ran where content types live (main): the admin can grant rights on blog and shop models too.
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        codenames = {row[0] for row in db.execute("SELECT codename FROM auth_permission")}
    assert {"add_post", "change_comment", "view_product", "delete_order", "add_user"} <= codenames, codenames


def test_second_run_applies_nothing_and_says_so(config: Path) -> None:
    assert manage("migrate_all", config=config).returncode == 0
    again = manage("migrate_all", config=config)
    assert again.returncode == 0
    summary = again.stdout.strip().splitlines()[-3:]
    assert all("nothing to apply" in line for line in summary), again.stdout


def test_one_failing_alias_does_not_stop_the_others(tmp_path: Path, config: Path) -> None:
    with sqlite3.connect(tmp_path / "shop.sqlite3") as db:  # a stray table makes shop.0001_initial fail
        db.execute("CREATE TABLE shop_product (id integer)")

    result = manage("migrate_all", config=config)

    assert result.returncode == 1
    assert "shop_db" in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
    assert "shop_db  failed in shop.0001_initial" in result.stdout
    assert BLOG_TABLES <= tables(tmp_path / "blog.sqlite3")
    assert AUTH_TABLES <= tables(tmp_path / "db.sqlite3")

    with sqlite3.connect(tmp_path / "shop.sqlite3") as db:
        db.execute("DROP TABLE shop_product")
    rerun = manage("migrate_all", config=config)
    assert rerun.returncode == 0, rerun.stderr
    assert SHOP_TABLES <= tables(tmp_path / "shop.sqlite3")


def test_fail_fast_skips_the_rest(tmp_path: Path, config: Path) -> None:
    (tmp_path / "db.sqlite3").write_text("not a database")
    result = manage("migrate_all", "--fail-fast", "--skip-makemigrations", config=config)
    assert result.returncode == 1
    assert "default  failed" in result.stdout
    assert "blog_db  skipped: --fail-fast" in result.stdout and "shop_db  skipped: --fail-fast" in result.stdout


@pytest.mark.parametrize("flag", ["--plan", "--check"])
def test_plan_and_check_change_nothing(tmp_path: Path, config: Path, flag: str) -> None:
    # Fresh: no file may be created.
    fresh = manage("migrate_all", flag, config=config)
    assert checksums(tmp_path) == {}
    assert fresh.returncode == (1 if flag == "--check" else 0), fresh.stderr
    assert "would apply 1: blog.0001_initial" in fresh.stdout
    # Migrated: files stay byte-identical.
    assert manage("migrate_all", config=config).returncode == 0
    before = checksums(tmp_path)
    again = manage("migrate_all", flag, config=config)
    assert again.returncode == 0
    assert checksums(tmp_path) == before


def test_check_names_the_aliases_with_unapplied_migrations(config: Path) -> None:
    assert manage("migrate_all", "--database", "default", config=config).returncode == 0
    result = manage("migrate_all", "--check", config=config)
    assert result.returncode == 1
    assert "unapplied migrations on blog_db, shop_db" in result.stderr


def test_database_selects_aliases(tmp_path: Path, config: Path) -> None:
    result = manage("migrate_all", "--skip-makemigrations", "--database", "shop_db", config=config)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("shop_db  ok")
    assert not (tmp_path / "blog.sqlite3").exists()


def test_unknown_database_is_a_usage_error(config: Path) -> None:
    result = manage("migrate_all", "--database", "nope", config=config)
    assert result.returncode == 2
    assert "unknown alias nope" in result.stderr and "default, blog_db, shop_db" in result.stderr


def test_jobs_and_json_report(tmp_path: Path, config: Path) -> None:
    report = tmp_path / "report.json"
    began = time.monotonic()
    result = manage("migrate_all", "--jobs", "3", "--json", str(report), config=config)
    elapsed = time.monotonic() - began
    assert result.returncode == 0, result.stderr
    data = json.loads(report.read_text())
    assert data["ok"] is True
    by_alias = {entry["alias"]: entry for entry in data["aliases"]}
    assert set(by_alias) == {"default", "blog_db", "shop_db"}
    assert {alias: entry["status"] for alias, entry in by_alias.items()} == dict.fromkeys(by_alias, "ok")
    blog_steps = [step for step in by_alias["blog_db"]["steps"] if not step["noop"]]
    assert [step["migration"] for step in blog_steps] == ["blog.0001_initial"]
    assert [step["noop"] for step in blog_steps] == [False]  # a JSON boolean, not null
    # Durations are measured, not made up: each within the time the whole command took.
    assert 0 <= blog_steps[0]["seconds"] <= elapsed
    assert all(0 <= entry["seconds"] <= data["seconds"] <= elapsed for entry in data["aliases"]), data
    assert by_alias["blog_db"]["history"] == "default"
    # default is migrated once, first: its report holds what it applied (auth, ...), not a second empty pass.
    assert "auth.0001_initial" in [step["migration"] for step in by_alias["default"]["steps"] if not step["noop"]]
    noops = [step for step in by_alias["blog_db"]["steps"] if step["noop"]]
    assert all(step["seconds"] == 0.0 for step in noops)  # recorded, not run
    assert "auth.0001_initial" in [step["migration"] for step in noops]  # other apps' migrations, named


def test_json_to_stdout_is_only_json(config: Path) -> None:
    result = manage("migrate_all", "--skip-makemigrations", "--json", "-", config=config)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["mode"] == "migrate"


def test_outside_development_missing_migrations_exit_2_naming_the_app(tmp_path: Path) -> None:
    config = local_config(
        tmp_path,
        (Path(__file__).parents[2] / "config" / "local.yaml")
        .read_text()
        .replace("environment: local", "environment: test\nsecret_key: " + "k" * 40),
    )
    result = manage(
        "migrate_all",
        config=config,
        env={
            "DJANGO_SETTINGS_MODULE": "tests.unit.fixture_settings",
            "TEST_EXTRA_APPS": "tests.unit.fixture_apps.drift",
        },
    )
    assert result.returncode == 2
    assert "models have changes without migrations: drift (Create model Unmigrated)" in result.stderr
    assert not list((Path(__file__).parent / "fixture_apps" / "drift" / "migrations").glob("0*.py"))
    assert checksums(tmp_path) == {}


def test_traceback_only_when_asked(tmp_path: Path, config: Path) -> None:
    (tmp_path / "shop.sqlite3").write_text("not a database")
    plain = manage("migrate_all", "--skip-makemigrations", config=config)
    verbose = manage("migrate_all", "--skip-makemigrations", "--traceback", config=config)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert "Traceback of shop_db" in verbose.stderr and "DatabaseError" in verbose.stderr


def test_the_guides_per_database_migrate_agrees_with_migrate_all(config: Path) -> None:
    for alias in ("default", "blog_db", "shop_db"):
        assert manage("migrate", "--database", alias, config=config).returncode == 0
    check = manage("migrate_all", "--check", config=config)
    assert check.returncode == 0, check.stdout + check.stderr


def test_migrate_fake_on_a_routed_alias_points_to_migrate_all(config: Path) -> None:
    # `migrate <app> [<target>]` is supported there now (see the zero test below); --fake still is not.
    result = manage("migrate", "--fake", "--database", "blog_db", config=config)
    assert result.returncode == 2
    assert "blog_db records its migration history in default" in result.stderr
    assert "migrate_all --database blog_db" in result.stderr


# --- issue 10: migrate_all and migrate -------------------------------------------------------------------

POINTS = ("before_apply", "after_apply", "before_record", "after_record")


def shared_history_config(tmp_path: Path) -> Path:
    """local.yaml plus three aliases with no apps of their own, all recording their history in default."""
    extra = "".join(
        f"  x{n}:\n    engine: django.db.backends.sqlite3\n    name: data/x{n}.sqlite3\n"
        f"    operations: [read, write]\n    migrate_to: default\n"
        for n in range(1, 4)
    )
    return local_config(tmp_path, LOCAL_TEXT + extra)


LOCAL_TEXT = (Path(__file__).parents[2] / "config" / "local.yaml").read_text()


def routed_history(path: Path, alias: str = "blog_db") -> list[tuple[str, str]]:
    with sqlite3.connect(path) as db:
        return list(db.execute("SELECT app, name FROM multidb_migration_history WHERE database = ?", [alias]))


def test_four_aliases_sharing_one_history_alias_migrate_concurrently(tmp_path: Path) -> None:
    for run in range(8):  # before the history tables were made first, 3 runs in 10 lost the race here
        directory = tmp_path / f"run{run}"
        directory.mkdir()
        result = manage("migrate_all", "--jobs", "4", "--skip-makemigrations", config=shared_history_config(directory))
        assert result.returncode == 0, result.stdout + result.stderr
        for alias in ("blog_db", "x1", "x2", "x3"):
            rows = routed_history(directory / "db.sqlite3", alias)
            assert ("blog", "0001_initial") in rows and len(rows) == len(set(rows)), alias


PLAIN = {"DJANGO_SETTINGS_MODULE": "tests.unit.blog_migrations_settings"}  # adds blog.0002_plain


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("migration", ["blog.0001_initial", "blog.0002_plain"])
def test_a_crash_at_any_point_of_a_routed_migration_converges_on_the_next_run(
    tmp_path: Path, point: str, migration: str
) -> None:
    # blog.0001 leaves deferred SQL (Django records it after the commit); blog.0002_plain none (recorded inside).
    config = local_config(tmp_path)
    crashed = crash_manage.run(
        "migrate_all", "--skip-makemigrations", config=config, crash_at=f"{point}:{migration}", env=PLAIN
    )
    assert crashed.returncode == 70, crashed.stdout + crashed.stderr  # died there, as a kill would

    rerun = manage("migrate_all", "--skip-makemigrations", config=config, env=PLAIN)

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr  # no double apply
    assert BLOG_TABLES | {"blog_plain"} <= tables(tmp_path / "blog.sqlite3")  # no "applied in history, schema missing"
    app, name = migration.split(".")
    assert routed_history(tmp_path / "db.sqlite3").count((app, name)) == 1
    if point == "before_record":  # committed, not yet recorded: the rerun records it and says so, for blog_db
        assert f"  blog_db: recorded {migration}, committed by a run that died" in rerun.stdout, rerun.stdout
    if "multidb_migration_pending" in tables(tmp_path / "db.sqlite3"):
        with sqlite3.connect(tmp_path / "db.sqlite3") as db:
            assert list(db.execute("SELECT * FROM multidb_migration_pending")) == []
    assert manage("migrate_all", "--check", config=config, env=PLAIN).returncode == 0


def test_plan_after_a_crash_changes_nothing_the_next_real_run_settles_it(tmp_path: Path) -> None:
    # Committed on blog_db, not yet recorded in default: only a real run may record it (--plan is read-only).
    config = local_config(tmp_path)
    crash_at = "before_record:blog.0002_plain"
    crashed = crash_manage.run("migrate_all", "--skip-makemigrations", config=config, crash_at=crash_at, env=PLAIN)
    assert crashed.returncode == 70, crashed.stdout + crashed.stderr
    before = checksums(tmp_path)

    planned = manage("migrate_all", "--plan", "--skip-makemigrations", config=config, env=PLAIN)

    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert checksums(tmp_path) == before
    assert routed_history(tmp_path / "db.sqlite3").count(("blog", "0002_plain")) == 0
    rerun = manage("migrate_all", "--skip-makemigrations", config=config, env=PLAIN)
    assert "  blog_db: recorded blog.0002_plain, committed by a run that died" in rerun.stdout, rerun.stdout


def test_a_missing_data_folder_is_made_by_migrate_all_and_never_by_plan(tmp_path: Path) -> None:
    # A fresh clone has no data/ (not in git): the first migrate_all makes it; --plan leaves the disk alone.
    data = tmp_path / "var" / "data"  # two levels missing
    config = tmp_path / "local.yaml"
    config.write_text(LOCAL_TEXT.replace("data/", f"{data}/"))

    planned = manage("migrate_all", "--plan", "--skip-makemigrations", config=config)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert not data.parent.exists()

    migrated = manage("migrate_all", "--skip-makemigrations", config=config)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert {"db.sqlite3", "blog.sqlite3", "shop.sqlite3"} <= {p.name for p in data.iterdir()}
    assert BLOG_TABLES <= tables(data / "blog.sqlite3")


def replica_config(tmp_path: Path) -> Path:
    extra = (
        "  blog_replica:\n    engine: django.db.backends.sqlite3\n    name: data/blog_replica.sqlite3\n"
        "    apps: [apps.blog]\n    operations: [read]\n"
        "  archive:\n    engine: django.db.backends.sqlite3\n    name: data/archive.sqlite3\n"
        "    operations: [read, write]\n"
    )
    return local_config(tmp_path, LOCAL_TEXT + extra)


@pytest.mark.parametrize("alias", ["blog_replica", "archive"])
def test_plain_migrate_refuses_an_alias_that_is_never_migrated(tmp_path: Path, alias: str) -> None:
    result = manage("migrate", "--database", alias, config=replica_config(tmp_path))

    assert result.returncode == 2
    last = result.stderr.strip().splitlines()
    assert len(last) == 1 and alias in last[0] and "migrate_all" in last[0], result.stderr
    assert not (tmp_path / f"{alias}.sqlite3").exists()


def test_json_to_an_unwritable_path_exits_2_before_migrating_anything(tmp_path: Path, config: Path) -> None:
    result = manage(
        "migrate_all", "--skip-makemigrations", "--json", str(tmp_path / "missing" / "r.json"), config=config
    )

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "missing" in result.stderr
    assert checksums(tmp_path) == {}


def test_showmigrations_reads_a_routed_alias_history_where_migrate_to_says(config: Path) -> None:
    assert manage("migrate_all", "--skip-makemigrations", config=config).returncode == 0

    listed = manage("showmigrations", "blog", "--database", "blog_db", config=config)
    planned = manage("showmigrations", "--plan", "--database", "blog_db", config=config)

    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["blog", "[X]", "0001_initial"]
    assert "[X]  blog.0001_initial" in planned.stdout and "[ ]" not in planned.stdout


def test_migrate_app_zero_on_a_routed_alias_changes_its_schema_and_its_history(tmp_path: Path, config: Path) -> None:
    assert manage("migrate_all", "--skip-makemigrations", config=config).returncode == 0

    away = manage("migrate", "blog", "zero", config=config)  # the guide's reset, run on default
    assert away.returncode == 2
    assert "migrate blog zero --database blog_db" in away.stderr
    assert len(away.stderr.strip().splitlines()) == 1

    zero = manage("migrate", "blog", "zero", "--database", "blog_db", config=config)
    assert zero.returncode == 0, zero.stdout + zero.stderr
    assert zero.stdout.splitlines() == [
        "  blog_db: unapplied blog.0001_initial",
        "blog_db: 1 migrated, history in default",
    ]
    assert not BLOG_TABLES & tables(tmp_path / "blog.sqlite3")
    assert ("blog", "0001_initial") not in routed_history(tmp_path / "db.sqlite3")
    assert "[ ] 0001_initial" in manage("showmigrations", "blog", "--database", "blog_db", config=config).stdout

    again = manage("migrate", "blog", "--database", "blog_db", config=config)
    assert again.returncode == 0, again.stdout + again.stderr
    assert BLOG_TABLES <= tables(tmp_path / "blog.sqlite3")
    assert manage("migrate_all", "--check", config=config).returncode == 0


def test_the_guides_reset_still_works_for_an_app_on_an_alias_with_its_own_history(tmp_path: Path, config: Path) -> None:
    assert manage("migrate_all", "--skip-makemigrations", config=config).returncode == 0
    zero = manage("migrate", "shop", "zero", "--database", "shop_db", config=config)
    assert zero.returncode == 0, zero.stderr
    assert not SHOP_TABLES & tables(tmp_path / "shop.sqlite3")
    assert manage("migrate", "shop", "--database", "shop_db", config=config).returncode == 0
    assert SHOP_TABLES <= tables(tmp_path / "shop.sqlite3")


def test_a_repeated_database_counts_once(config: Path) -> None:
    result = manage(
        "migrate_all", "--skip-makemigrations", "--database", "shop_db", "--database", "shop_db", config=config
    )
    assert result.returncode == 0, result.stderr
    assert "Migrating 1 database(s): shop_db" in result.stdout
    assert [line for line in result.stdout.splitlines() if line.startswith("shop_db  ")] != []
    assert sum(line.startswith("shop_db  ok") for line in result.stdout.splitlines()) == 1


def test_fail_fast_says_what_it_skipped(tmp_path: Path, config: Path) -> None:
    (tmp_path / "db.sqlite3").write_text("not a database")
    result = manage("migrate_all", "--fail-fast", "--skip-makemigrations", config=config)
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 1
    assert "still processed" not in last and "--fail-fast skipped blog_db, shop_db" in last


def test_fail_fast_with_nothing_failing_runs_every_alias(tmp_path: Path, config: Path) -> None:
    result = manage("migrate_all", "--fail-fast", "--jobs", "1", "--skip-makemigrations", config=config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped" not in result.stdout
    assert all(f"{alias}  ok" in result.stdout for alias in ("default", "blog_db", "shop_db")), result.stdout


@pytest.mark.parametrize(("jobs", "at_once"), [(1, 1), (2, 2)])
def test_jobs_bounds_how_many_aliases_migrate_at_once(monkeypatch: pytest.MonkeyPatch, jobs: int, at_once: int) -> None:
    # In-process, each alias's migration replaced by a stand-in that overlaps with any other running then.
    from multidb import migrator
    from multidb.routing import current_table
    from multidb.status import MigrateStatus

    running, peaks, guard, together = [0], [], threading.Lock(), threading.Event()

    def overlapping(alias: str, history: str, *_: object) -> migrator.AliasResult:
        with guard:
            running[0] += 1
            peaks.append(running[0])
            if running[0] > 1:
                together.set()
        if alias != "default":  # default runs alone, first; the others wait (at most 2 s) for company
            together.wait(timeout=2)
        with guard:
            running[0] -= 1
        return migrator.AliasResult(alias, MigrateStatus.OK, history=history)

    monkeypatch.setattr(migrator, "migrate_alias", overlapping)
    table = current_table()
    results = migrator.migrate_all(table, table.aliases, jobs=jobs, plan_only=True)

    assert [result.alias for result in results] == ["default", "blog_db", "shop_db"]
    assert max(peaks) == at_once, peaks  # default alone first, then blog_db and shop_db: serially or together


def test_dbroutes_names_the_real_history_alias_of_shards(tmp_path: Path) -> None:
    text = """
environment: local
databases:
  default: {engine: sqlite3, name: data/db.sqlite3}
  shard_0: {engine: sqlite3, name: data/shard_0.sqlite3, migrate_to: default}
  shard_1: {engine: sqlite3, name: data/shard_1.sqlite3, migrate_to: default}
shards:
  posts_by_author: {aliases: [shard_0, shard_1], apps: [blog], key: author_id}
"""
    result = manage("dbroutes", "--json", config=local_config(tmp_path, text))
    assert result.returncode == 0, result.stderr
    blog = next(row for row in json.loads(result.stdout) if row["app"] == "blog")
    assert blog["history"] == "default"


def test_an_in_memory_alias_is_checked_for_connectivity_only(tmp_path: Path) -> None:
    config = local_config(tmp_path, LOCAL_TEXT.replace("data/shop.sqlite3", "':memory:'"))
    assert manage("migrate_all", "--skip-makemigrations", config=config).returncode == 0

    result = manage("dbhealth", "--json", config=config)

    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["databases"]["shop_db"]["status"] == "ok"


def test_a_failing_middle_alias_does_not_stop_the_later_ones(tmp_path: Path, config: Path) -> None:
    # blog_db runs between default and shop_db; without --fail-fast shop_db must still be migrated after it.
    with sqlite3.connect(tmp_path / "blog.sqlite3") as db:
        db.execute("CREATE TABLE blog_post (id integer)")

    result = manage("migrate_all", "--skip-makemigrations", config=config)

    assert result.returncode == 1
    assert "blog_db  failed in blog.0001_initial" in result.stdout
    assert "shop_db  ok" in result.stdout and "skipped" not in result.stdout
    assert SHOP_TABLES <= tables(tmp_path / "shop.sqlite3")
    assert AUTH_TABLES <= tables(tmp_path / "db.sqlite3")


def test_a_failing_default_does_not_stop_the_other_aliases(tmp_path: Path, config: Path) -> None:
    # default runs first and alone; its failure must not keep blog_db and shop_db from being migrated.
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        db.execute("CREATE TABLE django_admin_log (id integer)")

    result = manage("migrate_all", "--skip-makemigrations", config=config)

    assert result.returncode == 1
    assert "default  failed in admin.0001_initial" in result.stdout, result.stdout
    assert "skipped" not in result.stdout
    assert BLOG_TABLES <= tables(tmp_path / "blog.sqlite3")
    assert SHOP_TABLES <= tables(tmp_path / "shop.sqlite3")


def test_sqlite_file_missing_only_for_a_sqlite_file_that_is_not_there(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from multidb.history import in_memory, sqlite_file_missing

    def connection(name: str, vendor: str = "sqlite") -> SimpleNamespace:
        return SimpleNamespace(vendor=vendor, settings_dict={"NAME": name})

    (tmp_path / "there.sqlite3").touch()
    assert sqlite_file_missing(connection(str(tmp_path / "absent.sqlite3"))) is True
    assert sqlite_file_missing(connection(str(tmp_path / "there.sqlite3"))) is False
    assert sqlite_file_missing(connection(":memory:")) is False
    assert sqlite_file_missing(connection("file:memdb?mode=memory&cache=shared")) is False
    assert sqlite_file_missing(connection(str(tmp_path / "absent"), vendor="postgresql")) is False
    # In memory (a new, empty database per connection): ":memory:" and a shared-cache URI alike.
    assert in_memory(connection(":memory:")) is True
    assert in_memory(connection("file:memdb?mode=memory&cache=shared")) is True
    assert in_memory(connection("file:data/app.sqlite3?mode=rw")) is False
    assert in_memory(connection(str(tmp_path / "there.sqlite3"))) is False
    assert in_memory(connection(":memory:", vendor="postgresql")) is False


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (ValueError("first line\nsecond line"), "ValueError: first line"),
        (OSError("  \n  padded  \n"), "OSError: padded"),
        (RuntimeError(), "RuntimeError"),
    ],
)
def test_one_line_is_the_type_and_the_first_line_of_the_message(error: BaseException, line: str) -> None:
    from multidb.migrator import one_line

    assert one_line(error) == line


def test_skipped_aliases_say_why_a_replica_and_a_non_migratable_alias_are_left_alone(tmp_path: Path) -> None:
    config = replica_config(tmp_path)
    result = manage(
        "migrate_all", "--skip-makemigrations", "--database", "blog_replica", "--database", "archive", config=config
    )

    assert result.returncode == 0, result.stderr
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert "blog_replica skipped: replica, never migrated" in lines
    assert "archive skipped: not migratable (no migrate or migrate_to)" in lines
