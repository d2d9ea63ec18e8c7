"""The one error type that bad configuration raises: file, dotted key, what, how to fix."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration problem, rendered as one line that names file and key.

    Never carries a configured value: messages are built from keys and fixed
    text only, so a secret cannot leak through an error.
    """

    def __init__(self, source: str, key: str, problem: str, fix: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}" if self.key else self.source
        return f"{where}: {self.problem}; {self.fix}"


class ConfigKeyError(ValueError):
    """A problem found while checking a config, before the file name is known."""

    def __init__(self, key: str, problem: str, fix: str) -> None:
        self.key = key
        self.problem = problem
        self.fix = fix
        super().__init__(f"{key}: {problem}; {fix}")

    def at(self, source: str) -> ConfigError:
        return ConfigError(source, self.key, self.problem, self.fix)
