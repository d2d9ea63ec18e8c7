"""Messages shown to operators: an exception as the one line every failure report uses."""

from __future__ import annotations


def one_line(error: BaseException) -> str:
    """`Type: first line of the message`, the form every failure line uses."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
