"""Adversarial configs: encodings, YAML bombs, odd keys, strict types, $ syntax, values from ${VAR} kept secret."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from multidb.errors import ConfigError
from multidb.loader import load_config
from tests.unit.cli import manage
from tests.unit.test_loader_errors import VALID_PG, pg

SECRET = "Qv7-adversarial-Secret-93"
INSTALLED = ["django.contrib.auth", "django.contrib.contenttypes", "multidb", "apps.blog", "apps.shop"]

# Nine levels of nine aliases: 9**9 (387 million) strings once expanded, 2 KB of YAML.
BOMB = "\n".join(
    [f"l0: &l0 [{', '.join(['lol'] * 9)}]"] + [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 9)]
)


def sharded(alias: str) -> str:
    return pg() + f"shards:\n  people:\n    aliases: [{alias}]\n    apps: [shop]\n    key: author_id\n"


def with_options(options: str) -> str:
    return pg("    host: 127.0.0.1\n  blog_db", f"    host: 127.0.0.1\n    options: {options}\n  blog_db")


def default_field(line: str) -> str:
    return pg("    host: 127.0.0.1\n  blog_db", f"    host: 127.0.0.1\n    {line}\n  blog_db")


# (id, file bytes, extra environment, secret-file bytes or None, text the line must name, words it must say)
CASES: list[tuple[str, bytes, dict[str, str], bytes | None, str, str]] = [
    ("latin1-byte", pg("name: main", "name: caf\xe9").encode("latin-1"), {}, None, "line 7", "not UTF-8"),
    ("utf16-bom", VALID_PG.encode("utf-16"), {}, None, ": ", "UTF-16"),
    ("utf16-le-no-bom", VALID_PG.encode("utf-16-le"), {}, None, ": ", "UTF-16"),
    ("utf16-be-no-bom", VALID_PG.encode("utf-16-be"), {}, None, ": ", "UTF-16"),
    (
        "secret-file-latin1",
        pg("password: ${DB_PASSWORD}", "password: ${FILE_PASSWORD}").encode(),
        {},
        SECRET.encode() + b"\xe9",
        "databases.default.password",
        "FILE_PASSWORD_FILE names a file that is not UTF-8",
    ),
    (
        "secret-file-utf16",
        pg("password: ${DB_PASSWORD}", "password: ${FILE_PASSWORD}").encode(),
        {},
        SECRET.encode("utf-16"),
        "databases.default.password",
        "FILE_PASSWORD_FILE names a file that is not UTF-8",
    ),
    ("control-character", pg("name: main", "name: ma\x07in").encode(), {}, None, "line 7", "control character"),
    ("larger-than-a-mib", b"#" * (2 << 20) + b"\n" + pg().encode(), {}, None, ": ", "larger than 1 MiB"),
    (
        "secret-file-huge",
        pg("password: ${DB_PASSWORD}", "password: ${FILE_PASSWORD}").encode(),
        {},
        SECRET.encode() * 5000,
        "databases.default.password",
        "FILE_PASSWORD_FILE names a file larger than",
    ),
    ("deep-flow-list", with_options("[" * 20000 + "]" * 20000).encode(), {}, None, "databases.default", "nested"),
    ("deep-flow-map", with_options("{a: " * 5000 + "1" + "}" * 5000).encode(), {}, None, "databases", "nested"),
    (
        "deep-block-list",
        ("databases:\n" + "".join("  " * n + "-\n" for n in range(1, 600))).encode(),
        {},
        None,
        "databases",
        "nested",
    ),
    ("list-as-key", with_options("{[a, b]: 1}").encode(), {}, None, "databases.default.options", "key"),
    ("mapping-as-key", pg("databases:", "? {a: 1}\n: x\ndatabases:").encode(), {}, None, "line 4", "list or mapping"),
    ("alias-bomb", (BOMB + "\n" + pg()).encode(), {}, None, "l4", "aliases"),
    ("self-alias", pg("databases:", "loop: &loop [*loop]\ndatabases:").encode(), {}, None, "loop", "itself"),
    (
        "int-alias-key",
        pg("  blog_db:", "  7:").replace("migrate_to: default", "").encode(),
        {},
        None,
        "databases",
        "quote",
    ),
    (
        "null-alias-key",
        pg("  blog_db:", "  null:").replace("migrate_to: default", "").encode(),
        {},
        None,
        "databases",
        "quote",
    ),
    ("bool-field-key", default_field("yes: 1").encode(), {}, None, "databases.default", "quote"),
    (
        "unknown-time-zone",
        pg("databases:", "time_zone: Mars/Olympus_Mons\ndatabases:").encode(),
        {},
        None,
        "time_zone",
        "time zone",
    ),
    (
        "time-zone-from-env",
        pg("databases:", "time_zone: ${ZONE}\ndatabases:").encode(),
        {"ZONE": SECRET},
        None,
        "time_zone",
        "the value from ${ZONE}",
    ),
    (
        "time-zone-path",
        pg("databases:", "time_zone: ../../etc/passwd\ndatabases:").encode(),
        {},
        None,
        "time_zone",
        "time zone",
    ),
    (
        "app-from-env",
        pg("apps: [blog]", 'apps: ["${BLOG_APP}"]').encode(),
        {"BLOG_APP": SECRET},
        None,
        "databases.blog_db.apps[0]",
        "${BLOG_APP}",
    ),
    (
        "migrate-to-from-env",
        pg("migrate_to: default", "migrate_to: ${HISTORY}").encode(),
        {"HISTORY": SECRET},
        None,
        "databases.blog_db.migrate_to",
        "${HISTORY}",
    ),
    (
        "shard-alias-from-env",
        sharded('"${SHARD}"').encode(),
        {"SHARD": SECRET},
        None,
        "shards.people.aliases[0]",
        "${SHARD}",
    ),
    (
        "shard-app-from-env",
        sharded("default").replace("[shop]", '["x${SHOP}"]').encode(),
        {"SHOP": SECRET},
        None,
        "shards.people.apps[0]",
        "${SHOP}",
    ),
    ("port-true", default_field("port: true").encode(), {}, None, "databases.default.port", "whole number"),
    ("port-huge", default_field("port: " + "9" * 5000).encode(), {}, None, "databases.default.port", "digits"),
    (
        "port-huge-from-env",
        default_field("port: ${PORT}").encode(),
        {"PORT": "9" * 5000},
        None,
        "databases.default.port",
        "whole number",
    ),
    ("port-float", default_field("port: 5432.0").encode(), {}, None, "databases.default.port", "whole number"),
    (
        "port-from-env-not-int",
        default_field("port: ${PORT}").encode(),
        {"PORT": "5432.0"},
        None,
        "databases.default.port",
        "whole number",
    ),
    (
        "conn-max-age-false",
        default_field("conn_max_age: false").encode(),
        {},
        None,
        "databases.default.conn_max_age",
        "whole number",
    ),
    ("debug-yes", pg("databases:", 'debug: "yes"\ndatabases:').encode(), {}, None, "debug", "true or false"),
    (
        "health-checks-one",
        default_field("conn_health_checks: 1").encode(),
        {},
        None,
        "databases.default.conn_health_checks",
        "true or false",
    ),
    (
        "routing-flag-off",
        pg("databases:", "routing:\n  cross_database_relations: 'off'\ndatabases:").encode(),
        {},
        None,
        "routing.cross_database_relations",
        "true or false",
    ),
    (
        "seconds-true",
        pg("databases:", "routing:\n  read_your_writes_seconds: true\ndatabases:").encode(),
        {},
        None,
        "routing.read_your_writes_seconds",
        "number",
    ),
    (
        "unterminated-reference",
        pg("password: ${DB_PASSWORD}", "password: ${DB_PASSWORD").encode(),
        {},
        None,
        "databases.default.password",
        "$$",
    ),
    (
        "reference-without-braces",
        pg("password: ${DB_PASSWORD}", "password: $DB_PASSWORD").encode(),
        {},
        None,
        "databases.default.password",
        "${NAME}",
    ),
    ("lone-dollar", pg("host: 127.0.0.1", "host: db$1").encode(), {}, None, "databases.default.host", "$$"),
    (
        "compose-error-syntax",
        pg("password: ${DB_PASSWORD}", "password: ${DB_PASSWORD:?set it}").encode(),
        {},
        None,
        "databases.default.password",
        "${NAME}",
    ),
]


@pytest.mark.parametrize(
    ("text", "env", "secret_file", "key", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_adversarial_config_is_one_line_exit_2(
    tmp_path: Path, text: bytes, env: dict[str, str], secret_file: bytes | None, key: str, words: str
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_bytes(text)
    outside = tmp_path.parent / f"{tmp_path.name}-secret"
    outside.write_bytes(secret_file or b"")
    environ = {"DB_PASSWORD": SECRET, "SECRET_KEY": SECRET * 2, "FILE_PASSWORD_FILE": str(outside), **env}

    started = time.monotonic()
    result = manage("check", config=config, env=environ, timeout=60)
    elapsed = time.monotonic() - started

    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(f"config error: {config}: "), lines[0]
    assert key in lines[0] and words in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr + result.stdout
    assert list(tmp_path.iterdir()) == [config]  # no database file created
    assert elapsed < 20, f"took {elapsed:.1f} s"


def test_alias_bomb_is_refused_fast_and_small(tmp_path: Path) -> None:
    import tracemalloc

    config = tmp_path / "bomb.yaml"
    config.write_text(BOMB + "\n" + pg())
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(ConfigError, match="aliases"):
        load_config(config, INSTALLED, {"DB_PASSWORD": SECRET, "SECRET_KEY": SECRET * 2})
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 0.5 and peak < 20 * 2**20, (elapsed, peak)


def load(tmp_path: Path, text: str, **env: str) -> object:
    config = tmp_path / "ok.yaml"
    config.write_text(text)
    return load_config(config, INSTALLED, {"DB_PASSWORD": SECRET, "SECRET_KEY": SECRET * 2, **env})


def test_double_dollar_is_a_literal_dollar(tmp_path: Path) -> None:
    config = load(tmp_path, pg("password: ${DB_PASSWORD}", "password: pa$$word${DB_PASSWORD:-x$$y}"))
    assert config.databases["default"].password.get_secret_value() == f"pa$word{SECRET}"  # type: ignore[attr-defined]


def test_double_dollar_in_a_default(tmp_path: Path) -> None:
    config = load(tmp_path, pg("password: ${DB_PASSWORD}", "password: ${UNSET_PASSWORD:-x$$y}"))
    assert config.databases["default"].password.get_secret_value() == "x$y"  # type: ignore[attr-defined]


def test_dollars_inside_a_value_from_the_environment_are_kept(tmp_path: Path) -> None:
    config = load(tmp_path, pg(), DB_PASSWORD="a$b${C}$$d")
    assert config.databases["default"].password.get_secret_value() == "a$b${C}$$d"  # type: ignore[attr-defined]


def test_numbers_and_flags_from_the_environment_are_accepted(tmp_path: Path) -> None:
    text = default_field("port: ${PORT:-5432}").replace("databases:", "debug: ${DEBUG:-false}\ndatabases:", 1)
    config = load(tmp_path, text, PORT="6543", DEBUG="True")
    assert config.databases["default"].port == 6543  # type: ignore[attr-defined]
    assert config.debug is True  # type: ignore[attr-defined]


def test_utf8_with_bom_and_real_time_zone_are_accepted(tmp_path: Path) -> None:
    config = tmp_path / "ok.yaml"
    config.write_bytes(pg("databases:", "time_zone: Europe/Paris\ndatabases:").encode("utf-8-sig"))
    loaded = load_config(config, INSTALLED, {"DB_PASSWORD": SECRET, "SECRET_KEY": SECRET * 2})
    assert loaded.time_zone == "Europe/Paris"


def test_anchors_and_merge_keys_within_limits_are_accepted(tmp_path: Path) -> None:
    text = pg("  default:\n", "  default: &server\n").replace(
        "  blog_db:\n    engine: postgresql\n    name: blog\n    user: blog\n    password: ${DB_PASSWORD}\n"
        "    host: 127.0.0.1\n",
        "  blog_db:\n    <<: *server\n    name: blog\n    user: blog\n",
    )
    config = load(tmp_path, text)
    assert config.databases["blog_db"].host == "127.0.0.1"  # type: ignore[attr-defined]


def test_a_config_of_exactly_the_size_limit_is_read(tmp_path: Path) -> None:
    from multidb.loader import MAX_BYTES

    text = pg().encode()
    padding = b"#" * (MAX_BYTES - len(text) - 1) + b"\n"  # a comment: the file is MAX_BYTES bytes, not more
    config = tmp_path / "ok.yaml"
    config.write_bytes(padding + text)
    assert config.stat().st_size == MAX_BYTES
    loaded = load_config(config, INSTALLED, {"DB_PASSWORD": SECRET, "SECRET_KEY": SECRET * 2})
    assert loaded.databases["blog_db"].name == "blog"  # type: ignore[attr-defined]


def test_an_endless_config_file_is_refused_after_the_size_limit() -> None:
    # /dev/zero never ends: the loader must stop reading past the limit, not read it all into memory first.
    result = manage("check", config=Path("/dev/zero"), timeout=60, max_memory=2 << 30)
    assert result.returncode == 2, result.stderr[-500:]
    assert result.stderr.strip() == "config error: /dev/zero: the file is larger than 1 MiB; is it the right file?"
