"""Find, read and validate the YAML config: the only module that opens config files."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .config import ProjectConfig, check_consistency
from .errors import ConfigError, ConfigKeyError

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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
    try:
        expanded = _expand(raw, "", environ)
        config = ProjectConfig.model_validate(expanded)
        check_consistency(config, app_labels(installed_apps))
    except ConfigKeyError as problem:
        raise problem.at(source) from problem
    except ValidationError as error:
        raise _first_error(source, error) from None
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
    try:
        text = path.read_text(encoding="utf-8")
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
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        raise ConfigError(
            source, line, f"invalid YAML: {error.problem or error.context}", "fix the syntax there"
        ) from None
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


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of silently keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _expand(value: Any, key: str, environ: Mapping[str, str]) -> Any:
    """Expand ${VAR} and ${VAR:-default} in every string; VAR_FILE stands in for an unset VAR."""
    if isinstance(value, dict):
        return {k: _expand(v, f"{key}.{k}" if key else str(k), environ) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{key}[{i}]", environ) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    return _REFERENCE.sub(lambda match: _lookup(match, key, environ), value)


def _lookup(match: re.Match[str], key: str, environ: Mapping[str, str]) -> str:
    name, default = match.group(1), match.group(2)
    if environ.get(name):
        return environ[name]
    file_name = environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as error:
            raise ConfigKeyError(
                key,
                f"{name}_FILE names a file that cannot be read ({error.strerror})",
                f"point {name}_FILE at a readable secret file",
            ) from None
    if default is not None:
        return default
    raise ConfigKeyError(
        key,
        f"${{{name}}} is not set or empty",
        f"export {name}, set {name}_FILE to a secret file, or give a default as ${{{name}:-value}}",
    )


def _first_error(source: str, error: ValidationError) -> ConfigError:
    """The first pydantic error as one line; input values are never shown (they may be secrets)."""
    detail = error.errors(include_url=False, include_input=False)[0]
    key = ".".join(str(part) for part in detail["loc"])
    kind = detail["type"]
    if kind == "extra_forbidden":
        return ConfigError(
            source, key, "unknown key", "remove it or fix its spelling (see the config reference in README.md)"
        )
    if kind == "missing":
        return ConfigError(source, key, "required key is missing", "add it")
    message = detail["msg"].removeprefix("Value error, ")
    return ConfigError(
        source, key, message[0].lower() + message[1:], "fix the value (see the config reference in README.md)"
    )
