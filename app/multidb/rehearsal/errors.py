"""The error that stops a rehearsal before any clone server starts (the command turns it into exit 2)."""

from __future__ import annotations


class RehearsalError(Exception):
    """The rehearsal cannot start: a writable source, no image of the right major, no Docker..."""
