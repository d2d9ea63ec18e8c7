"""Expand ${VAR}, ${VAR:-default} and $$ in config values, remembering which keys took a value from outside."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigKeyError

# `$$` is a literal `$` (as in Compose); any other `$` that does not start a well-formed reference is an
# error, so `${VAR` or `$VAR` is never taken literally as, say, a production password.
_TOKEN = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-((?:[^}$]|\$\$)*))?\}|\$")
# A secret is a line; /dev/zero or a log file named by mistake is refused rather than read to the end.
MAX_SECRET_BYTES = 64 << 10
_FIX = "write ${NAME} or ${NAME:-default} for a variable, and $$ for a literal $"


class Expansion:
    """One pass over a parsed config; `from_env[key]` lists the variables a key's value came from."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.from_env: dict[str, tuple[str, ...]] = {}

    def expand(self, value: Any, key: str = "") -> Any:
        """A copy of `value` with every string expanded; values from the environment are not re-read for `$`."""
        if isinstance(value, dict):
            return {k: self.expand(v, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.expand(v, f"{key}[{i}]") for i, v in enumerate(value)]
        if not isinstance(value, str) or "$" not in value:
            return value
        names: list[str] = []
        expanded = _TOKEN.sub(lambda match: self._replace(match, key, names), value)
        if names:
            self.from_env[key] = tuple(dict.fromkeys(names))
        return expanded

    def _replace(self, match: re.Match[str], key: str, names: list[str]) -> str:
        text, name, default = match.group(0), match.group(1), match.group(2)
        if text == "$$":
            return "$"
        if name is None:
            # The value is not shown: it may be a literal secret with a stray `$`.
            raise ConfigKeyError(key, "has a $ that does not start a ${NAME} reference", _FIX)
        names.append(name)
        return self._lookup(name, None if default is None else default.replace("$$", "$"), key)

    def _lookup(self, name: str, default: str | None, key: str) -> str:
        if self.environ.get(name):
            return self.environ[name]
        file_name = self.environ.get(f"{name}_FILE")
        if file_name:
            return _read_secret(name, file_name, key)
        if default is not None:
            return default
        raise ConfigKeyError(
            key,
            f"${{{name}}} is not set or empty",
            f"export {name}, set {name}_FILE to a secret file, or give a default as ${{{name}:-value}}",
        )


def _read_secret(name: str, file_name: str, key: str) -> str:
    """The secret in VAR_FILE without its trailing newline; errors name the variable, never the content."""
    try:
        with Path(file_name).open("rb") as stream:
            data = stream.read(MAX_SECRET_BYTES + 1)
    except OSError as error:
        raise ConfigKeyError(
            key,
            f"{name}_FILE names a file that cannot be read ({error.strerror})",
            f"point {name}_FILE at a readable secret file",
        ) from None
    if len(data) > MAX_SECRET_BYTES:
        raise ConfigKeyError(
            key,
            f"{name}_FILE names a file larger than {MAX_SECRET_BYTES >> 10} KiB",
            f"point {name}_FILE at the secret",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = "\0"
    if "\0" in text:
        raise ConfigKeyError(
            key, f"{name}_FILE names a file that is not UTF-8 text", f"save the secret in {name}_FILE as UTF-8"
        )
    return text.rstrip("\r\n")
