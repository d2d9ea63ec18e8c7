"""Find, read and validate the YAML config: the only module that opens config files."""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .bounded_yaml import parse
from .config import ProjectConfig
from .consistency import check_consistency
from .errors import ConfigError, ConfigKeyError
from .interpolation import Expansion

# A config is a few KB; reading a huge or endless file (a device, a log by mistake) is refused first.
MAX_BYTES = 1 << 20


def config_path(environ: Mapping[str, str], base_dir: Path) -> Path:
    """APP_CONFIG names a file; else APP_ENV picks config/<name>.yaml; the default is local."""
    if environ.get("APP_CONFIG"):
        return Path(environ["APP_CONFIG"])
    env = environ.get("APP_ENV") or "local"
    if not re.fullmatch(r"[A-Za-z0-9_-]+", env):
        raise ConfigError(
            "APP_ENV",
            "",
            f"'{env}' is not an environment name",
            "use a file name from config/ without .yaml, or set APP_CONFIG to a path",
        )
    return base_dir / "config" / f"{env}.yaml"


def load_config(path: Path, installed_apps: Iterable[str], environ: Mapping[str, str] = os.environ) -> ProjectConfig:
    """Read `path`, expand ${VAR} references and validate; raise ConfigError naming file and key."""
    source = str(path)
    raw = _read_yaml(path)
    expansion = Expansion(environ)
    try:
        expanded = expansion.expand(raw)
        config = ProjectConfig.model_validate(expanded)
        check_consistency(config, app_labels(installed_apps), expansion.from_env)
    except ConfigKeyError as problem:
        raise problem.at(source) from problem
    except ValidationError as error:
        raise _first_error(source, error, expansion.from_env) from None
    return config


def app_labels(installed_apps: Iterable[str]) -> dict[str, str]:
    """Every accepted spelling of an installed app -> its label ("apps.blog" and "blog" -> "blog")."""
    spellings: dict[str, str] = {}
    for entry in installed_apps:
        module = entry.split(".apps.")[0] if ".apps." in entry else entry
        label = module.rsplit(".", 1)[-1]
        spellings.update({module: label, label: label, entry: label})
    return spellings


def _read_yaml(path: Path) -> dict[str, Any]:
    source = str(path)
    text = _read_text(path)
    try:
        data = parse(text)
    except ConfigKeyError as problem:
        raise problem.at(source) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ConfigError(
            source, line, f"invalid YAML: {error.problem or error.context}", "fix the syntax there"
        ) from None
    except yaml.reader.ReaderError as error:
        where = f"line {text[: error.position].count(chr(10)) + 1}"
        raise ConfigError(source, where, "invalid YAML: a control character", "remove it") from None
    except yaml.YAMLError as error:
        raise ConfigError(source, "", f"invalid YAML: {type(error).__name__}", "fix the syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(
            source,
            "",
            "the file does not hold a mapping of settings",
            "start with a top-level 'databases:' key (see config/local.yaml)",
        )
    return data


def _read_text(path: Path) -> str:
    """The file as UTF-8 text (a UTF-8 BOM is allowed); other encodings are named, never guessed."""
    source = str(path)
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            source,
            "",
            "config file not found",
            "create it, pick another with APP_ENV=<name> (config/<name>.yaml), or set APP_CONFIG",
        ) from None
    except OSError as error:
        raise ConfigError(
            source, "", f"cannot read the config file ({error.strerror})", "check the path and its permissions"
        ) from None
    if len(data) > MAX_BYTES:
        raise ConfigError(source, "", f"the file is larger than {MAX_BYTES >> 20} MiB", "is it the right file?")
    # UTF-16 without a BOM decodes as "valid" UTF-8 full of NULs; with one, it fails on the first byte.
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\0" in data:
        raise ConfigError(source, "", "the file is UTF-16 (or binary), not UTF-8 text", "save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            source, f"line {line}", "is not UTF-8 text (latin-1 or another encoding?)", "save the file as UTF-8"
        ) from None


def _first_error(source: str, error: ValidationError, from_env: Mapping[str, tuple[str, ...]]) -> ConfigError:
    """The first pydantic error as one line; input values are never shown (they may be secrets)."""
    detail = error.errors(include_url=False, include_input=False)[0]
    key = ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in detail["loc"]).replace(".[", "[")
    kind = detail["type"]
    if kind == "extra_forbidden":
        return ConfigError(
            source, key, "unknown key", "remove it or fix its spelling (see the config reference in README.md)"
        )
    if kind == "missing":
        return ConfigError(source, key, "required key is missing", "add it")
    message = detail["msg"].removeprefix("Value error, ")
    # Our validators say "problem; fix"; pydantic's own messages say the problem only.
    problem, _, fix = message.partition("; ")
    if key in from_env:
        problem += " (the value from " + " and ".join(f"${{{name}}}" for name in from_env[key]) + ")"
    return ConfigError(
        source, key, problem[0].lower() + problem[1:], fix or "fix the value (see the config reference in README.md)"
    )
