"""Malformed configurations: one line naming file and key, exit 2, no traceback, no secret, no database touched."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from tests.unit.cli import manage

SECRET = "Zq8-very-secret-Value-41"

VALID_PG = """
environment: production
secret_key: ${SECRET_KEY}
databases:
  default:
    engine: postgresql
    name: main
    user: main
    password: ${DB_PASSWORD}
    host: 127.0.0.1
  blog_db:
    engine: postgresql
    name: blog
    user: blog
    password: ${DB_PASSWORD}
    host: 127.0.0.1
    apps: [blog]
    operations: [read, write]
    migrate_to: default
"""


def pg(old: str = "", new: str = "") -> str:
    assert old in VALID_PG
    return VALID_PG.replace(old, new, 1) if old else VALID_PG


def sqlite(body: str) -> str:
    return textwrap.dedent(body)


# (id, config text or None for a missing file, the dotted key or position the message must name, words it must say)
CASES = [
    ("unknown-top-level-key", pg("databases:", "colour: blue\ndatabases:"), "colour", "unknown key"),
    (
        "unknown-database-key",
        pg("    host: 127.0.0.1\n  blog_db", "    hots: x\n    host: 127.0.0.1\n  blog_db"),
        "databases.default.hots",
        "unknown key",
    ),
    ("unknown-engine", pg("engine: postgresql", "engine: mongodb"), "databases.default.engine", "unknown engine"),
    (
        "unknown-dotted-engine",
        pg("engine: postgresql", "engine: django.db.backends.mssql"),
        "databases.default.engine",
        "unknown engine",
    ),
    ("missing-default", pg("  default:", "  main:"), "databases", "no 'default'"),
    (
        "migrate-to-missing-alias",
        pg("migrate_to: default", "migrate_to: archive"),
        "databases.blog_db.migrate_to",
        "'archive' is not a configured alias",
    ),
    (
        "app-written-twice",
        pg("    host: 127.0.0.1\n  blog_db", "    host: 127.0.0.1\n    apps: [blog]\n  blog_db"),
        "databases.blog_db.apps[0]",
        "also written by 'default'",
    ),
    ("app-not-installed", pg("apps: [blog]", "apps: [forum]"), "databases.blog_db.apps[0]", "not an installed app"),
    (
        "unknown-operation",
        pg("operations: [read, write]", "operations: [read, delete]"),
        "databases.blog_db.operations[1]",
        "'read', 'write' or 'migrate'",
    ),
    (
        "empty-operations",
        pg("operations: [read, write]", "operations: []"),
        "databases.blog_db.operations",
        "at least one",
    ),
    (
        "duplicate-operation",
        pg("operations: [read, write]", "operations: [read, read, write]"),
        "databases.blog_db.operations",
        "twice",
    ),
    (
        "port-out-of-range",
        pg("    host: 127.0.0.1\n  blog_db", "    host: 127.0.0.1\n    port: 70000\n  blog_db"),
        "databases.default.port",
        "65535",
    ),
    (
        "port-not-a-number",
        pg("    host: 127.0.0.1\n  blog_db", "    host: 127.0.0.1\n    port: fivefour\n  blog_db"),
        "databases.default.port",
        "integer",
    ),
    (
        "unset-variable",
        pg("password: ${DB_PASSWORD}", "password: ${MISSING_PASSWORD}"),
        "databases.default.password",
        "${MISSING_PASSWORD} is not set",
    ),
    (
        "placeholder-password",
        pg("password: ${DB_PASSWORD}", "password: changeme"),
        "databases.default.password",
        "placeholder",
    ),
    (
        "angle-placeholder-password",
        pg("password: ${DB_PASSWORD}", 'password: "<from-yaml-config>"'),
        "databases.default.password",
        "placeholder",
    ),
    ("empty-password", pg("password: ${DB_PASSWORD}", 'password: ""'), "databases.default.password", "placeholder"),
    ("placeholder-secret-key", pg("secret_key: ${SECRET_KEY}", "secret_key: changeme"), "secret_key", "placeholder"),
    ("yaml-syntax-error", pg("apps: [blog]", "apps: [blog"), "line ", "invalid YAML"),
    ("yaml-duplicate-key", pg("    name: blog\n", "    name: blog\n    name: blog2\n"), "line ", "duplicate key"),
    ("missing-file", None, "", "config file not found"),
    ("empty-file", "", "", "does not hold a mapping"),
    ("top-level-list", "- databases\n", "", "does not hold a mapping"),
    ("missing-name", pg("    name: main\n", ""), "databases.default.name", "required key is missing"),
    (
        "bad-alias-name",
        pg("  blog_db:", "  Blog-DB:").replace("migrate_to: default", ""),
        "databases.Blog-DB",
        "lowercase",
    ),
    (
        "driver-missing",
        pg("engine: postgresql", "engine: mysql"),
        "databases.default.engine",
        "pip install mysqlclient",
    ),
    ("server-without-host", pg("    host: 127.0.0.1\n  blog_db", "\n  blog_db"), "databases.default.host", "required"),
    ("unknown-environment", pg("environment: production", "environment: prod"), "environment", "'local'"),
    (
        "write-without-read",
        pg("operations: [read, write]", "operations: [write]"),
        "databases.blog_db.operations",
        "write without read",
    ),
    (
        "apps-without-write",
        pg("operations: [read, write]", "operations: [read, migrate]"),
        "databases.blog_db.operations",
        "neither writes",
    ),
    (
        "migrate-to-on-replica",
        pg("operations: [read, write]", "operations: [read]"),
        "databases.blog_db.migrate_to",
        "replica",
    ),
    (
        "default-read-only",
        pg("    host: 127.0.0.1\n  blog_db", "    host: 127.0.0.1\n    operations: [read]\n  blog_db"),
        "databases.default.operations",
        "read and write",
    ),
    (
        "health-timeout-negative",
        pg("databases:", "health:\n  timeout: -1\ndatabases:"),
        "health.timeout",
        "greater than 0",
    ),
    (
        "sqlite-with-host",
        sqlite("""
        databases:
          default:
            engine: sqlite3
            name: db.sqlite3
            host: db.example.com
        """),
        "databases.default.host",
        "SQLite",
    ),
    (
        "security-unknown-key",
        pg("databases:", "security:\n  hsts: 60\ndatabases:"),
        "security.hsts",
        "unknown key",
    ),
    (
        "security-flag-as-word",
        pg("databases:", "security:\n  ssl_redirect: yes-please\ndatabases:"),
        "security.ssl_redirect",
        "must be true or false",
    ),
    (
        "security-hsts-negative",
        pg("databases:", "security:\n  hsts_seconds: -1\ndatabases:"),
        "security.hsts_seconds",
        "greater than or equal to 0",
    ),
    (
        "security-origin-without-scheme",
        pg("databases:", "security:\n  csrf_trusted_origins: [www.example.com]\ndatabases:"),
        "security.csrf_trusted_origins",
        "scheme and host",
    ),
    (
        "timeouts-unknown-key",
        pg("    host: 127.0.0.1\n  blog_db", "    host: 127.0.0.1\n    timeouts: {lock: 5}\n  blog_db"),
        "databases.default.timeouts.lock",
        "unknown key",
    ),
    (
        "timeouts-not-milliseconds",
        pg("    host: 127.0.0.1\n  blog_db", "    host: 127.0.0.1\n    timeouts: {statement: 30s}\n  blog_db"),
        "databases.default.timeouts.statement",
        "whole number",
    ),
    (
        "timeouts-negative-retries",
        pg("operations: [read, write]", "operations: [read, write]\n    timeouts: {migration_lock_retries: -1}"),
        "databases.blog_db.timeouts.migration_lock_retries",
        "greater than or equal to 0",
    ),
    (
        "change-me-secret-key",
        pg("secret_key: ${SECRET_KEY}", "secret_key: CHANGE-ME-django-secret-key-at-least-32-characters"),
        "secret_key",
        "placeholder",
    ),
    (
        "change-me-password",
        pg("password: ${DB_PASSWORD}", "password: my-Change-Me-password-2024"),
        "databases.default.password",
        "placeholder",
    ),
    (
        "secret-file-unreadable",
        pg("password: ${DB_PASSWORD}", "password: ${FILE_PASSWORD}"),
        "databases.default.password",
        "FILE_PASSWORD_FILE names a file that cannot be read",
    ),
    # An alias of several nodes (docs/ha.md): libpq keeps the first host that answers unless told otherwise.
    (
        "several-hosts-that-may-reach-a-standby",
        pg("    host: 127.0.0.1\n  blog_db", "    host: db-main-1,db-main-2\n  blog_db"),
        "databases.default.options.target_session_attrs",
        "must be read-write for an alias that writes and lists several hosts",
    ),
    (
        "empty-node-name",
        pg(
            "    host: 127.0.0.1\n  blog_db",
            "    host: db-main-1,,db-main-2\n    options: {target_session_attrs: read-write}\n  blog_db",
        ),
        "databases.default.host",
        "has an empty name in its list of nodes",
    ),
    (
        "unknown-target-session-attrs",
        pg(
            "    host: 127.0.0.1\n  blog_db",
            "    host: 127.0.0.1\n    options: {target_session_attrs: leader}\n  blog_db",
        ),
        "databases.default.options.target_session_attrs",
        "'leader' is not one of any, read-write",
    ),
]


@pytest.mark.parametrize(("text", "key", "words"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_config_is_one_line_naming_file_and_key(tmp_path: Path, text: str | None, key: str, words: str) -> None:
    config = tmp_path / "bad.yaml"
    if text is not None:
        config.write_text(text)
    env = {"DB_PASSWORD": SECRET, "SECRET_KEY": SECRET * 2, "FILE_PASSWORD_FILE": str(tmp_path / "nope")}

    result = manage("check", config=config, env=env)

    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"config error: {config}"), lines[0]
    assert key in lines[0] and words in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr + result.stdout
    assert list(tmp_path.iterdir()) == ([config] if text is not None else [])  # no database file created


def test_the_table_s_base_config_is_valid(tmp_path: Path) -> None:
    # Every case is VALID_PG with one edit: if the base were refused, a case could pass for another reason.
    config = tmp_path / "good.yaml"
    config.write_text(VALID_PG)

    result = manage("check", config=config, env={"DB_PASSWORD": SECRET, "SECRET_KEY": SECRET * 2})

    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert "no issues" in result.stdout


def test_an_alias_of_several_nodes_that_keeps_the_writable_one_is_valid(tmp_path: Path) -> None:
    config = tmp_path / "ha.yaml"
    node_list = "    host: db-main-1,db-main-2\n    options: {target_session_attrs: read-write}\n  blog_db"
    config.write_text(pg("    host: 127.0.0.1\n  blog_db", node_list))

    result = manage("check", config=config, env={"DB_PASSWORD": SECRET, "SECRET_KEY": SECRET * 2})

    assert (result.returncode, result.stderr) == (0, ""), result.stderr


def test_each_case_is_a_distinct_edit_with_its_own_expectation() -> None:
    ids = [case[0] for case in CASES]
    texts = [case[1] for case in CASES]
    expectations = [(case[2], case[3]) for case in CASES]
    assert len(set(ids)) == len(ids) >= 25
    assert len(set(texts)) == len(texts), "two cases test the same file"
    assert VALID_PG not in texts
    assert all(words for _, words in expectations), "a case without expected words passes on any error"


def test_app_env_with_a_path_is_refused(tmp_path: Path) -> None:
    result = manage("check", config=tmp_path / "x.yaml", env={"APP_CONFIG": "", "APP_ENV": "../etc/passwd"})
    assert result.returncode == 2
    assert "APP_ENV" in result.stderr and "not an environment name" in result.stderr


def test_a_migrate_to_chain_is_refused_naming_the_key_and_the_fix(tmp_path: Path) -> None:
    # shop_db -> blog_db -> default: blog_db keeps no history of its own, so shop_db's would be lost.
    config = tmp_path / "chain.yaml"
    config.write_text(
        VALID_PG
        + textwrap.indent(
            "shop_db:\n  engine: postgresql\n  name: shop\n  user: shop\n  password: ${DB_PASSWORD}\n"
            "  host: 127.0.0.1\n  apps: [shop]\n  operations: [read, write]\n  migrate_to: blog_db\n",
            "  ",
        )
    )

    result = manage("check", config=config, env={"DB_PASSWORD": SECRET, "SECRET_KEY": SECRET * 2})

    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"config error: {config}"), result.stderr
    assert "databases.shop_db.migrate_to" in lines[0] and "'blog_db' itself records its history" in lines[0]
    assert "point migrate_to at 'default' directly" in lines[0]
    assert SECRET not in result.stderr + result.stdout


_LINES_ENV = {"DB_PASSWORD": SECRET, "SECRET_KEY": SECRET * 2, "PORT": "x", "PORT_TAIL": "0"}
_INSTALLED = ["django.contrib.auth", "django.contrib.contenttypes", "multidb", "apps.blog", "apps.shop"]
_ADD_PORT = ("    host: 127.0.0.1\n  blog_db", "    host: 127.0.0.1\n    port: ${PORT}\n  blog_db")

# The whole line for each of the loader's own messages (problem and fix are the contract, not only the key).
LINES = [
    (
        "yaml-syntax",
        pg().encode() + b"debug: [unclosed\n",
        "line 21, column 1: invalid YAML: expected ',' or ']', but got '<stream end>'; fix the syntax there",
    ),
    (
        "yaml-column",
        pg("databases:", "debug: [a, b\ndatabases:").encode(),
        "line 5, column 10: invalid YAML: expected ',' or ']', but got ':'; fix the syntax there",
    ),
    (
        "not-a-mapping",
        b"- a\n- b\n",
        "the file does not hold a mapping of settings; start with a top-level 'databases:' key (see config/local.yaml)",
    ),
    ("control", pg("name: main", "name: ma\x07in").encode(), "line 7: invalid YAML: a control character; remove it"),
    ("utf16", pg().encode("utf-16"), "the file is UTF-16 (or binary), not UTF-8 text; save it as UTF-8"),
    (
        "latin1",
        pg("name: main", "name: caf\xe9").encode("latin-1"),
        "line 7: is not UTF-8 text (latin-1 or another encoding?); save the file as UTF-8",
    ),
    ("too-large", b"#" * (2 << 20), "the file is larger than 1 MiB; is it the right file?"),
    (
        "unknown-key",
        pg("databases:", "colour: blue\ndatabases:").encode(),
        "colour: unknown key; remove it or fix its spelling (see the config reference in README.md)",
    ),
    (
        "pydantic-own",
        b"databases: [a]\n",
        "databases: input should be a valid dictionary; fix the value (see the config reference in README.md)",
    ),
    ("missing-key", pg("    name: main\n", "").encode(), "databases.default.name: required key is missing; add it"),
    (
        "from-env",
        pg(*_ADD_PORT).encode(),
        "databases.default.port: must be a whole number (an integer), not "
        "true/false, a fraction or text (the value from ${PORT}); write digits only",
    ),
    (
        "from-two-env",
        pg(_ADD_PORT[0], _ADD_PORT[1].replace("${PORT}", "${PORT}${PORT_TAIL}")).encode(),
        "databases.default.port: must be a whole number (an integer), not "
        "true/false, a fraction or text (the value from ${PORT} and ${PORT_TAIL}); write digits only",
    ),
]


@pytest.mark.parametrize(("data", "line"), [case[1:] for case in LINES], ids=[case[0] for case in LINES])
def test_each_loader_message_is_the_whole_line(tmp_path: Path, data: bytes, line: str) -> None:
    from multidb.errors import ConfigError
    from multidb.loader import load_config

    config = tmp_path / "c.yaml"
    config.write_bytes(data)
    with pytest.raises(ConfigError) as raised:
        load_config(config, _INSTALLED, _LINES_ENV)
    assert str(raised.value) == f"{config}: {line}"


def test_app_config_names_the_file_else_app_env_picks_one_from_config(tmp_path: Path) -> None:
    from multidb.loader import config_path

    folder = tmp_path / "config"
    assert config_path({}, tmp_path) == folder / "local.yaml"
    assert config_path({"APP_CONFIG": "", "APP_ENV": ""}, tmp_path) == folder / "local.yaml"  # empty is unset
    assert config_path({"APP_ENV": "staging"}, tmp_path) == folder / "staging.yaml"
    assert config_path({"APP_ENV": "Prod_2-b"}, tmp_path) == folder / "Prod_2-b.yaml"
    assert config_path({"APP_ENV": "staging", "APP_CONFIG": "/srv/app.yaml"}, tmp_path) == Path("/srv/app.yaml")


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (yaml.YAMLError("an engine's own error"), "invalid YAML: YAMLError; fix the syntax"),
        (yaml.MarkedYAMLError(problem="no marks"), "unknown position: invalid YAML: no marks; fix the syntax there"),
    ],
    ids=["unmarked", "no-position"],
)
def test_a_yaml_error_with_no_position_is_still_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: yaml.YAMLError, line: str
) -> None:
    # PyYAML marks the errors it raises today; the loader must not depend on it to give its one line.
    from multidb import loader
    from multidb.errors import ConfigError

    def fails(text: str) -> None:
        raise error

    monkeypatch.setattr(loader, "parse", fails)
    config = tmp_path / "c.yaml"
    config.write_text("databases: {}\n")
    with pytest.raises(ConfigError) as raised:
        loader.load_config(config, _INSTALLED, _LINES_ENV)
    assert str(raised.value) == f"{config}: {line}"


def test_missing_unreadable_and_misnamed_configs_say_how_to_fix_them(tmp_path: Path) -> None:
    from multidb.errors import ConfigError
    from multidb.loader import config_path, load_config

    with pytest.raises(ConfigError) as missing:
        load_config(tmp_path / "nope.yaml", _INSTALLED, _LINES_ENV)
    assert str(missing.value) == (
        f"{tmp_path / 'nope.yaml'}: config file not found; "
        "create it, pick another with APP_ENV=<name> (config/<name>.yaml), or set APP_CONFIG"
    )
    with pytest.raises(ConfigError) as unreadable:
        load_config(tmp_path, _INSTALLED, _LINES_ENV)  # a directory
    assert str(unreadable.value) == (
        f"{tmp_path}: cannot read the config file (Is a directory); check the path and its permissions"
    )
    with pytest.raises(ConfigError) as misnamed:
        config_path({"APP_ENV": "../x"}, tmp_path)
    assert str(misnamed.value) == (
        "APP_ENV: '../x' is not an environment name; use a file name from config/ without .yaml, "
        "or set APP_CONFIG to a path"
    )
