"""Command-line options shared by the multidb management commands."""

from __future__ import annotations

from argparse import ArgumentParser


def add_alias_option(parser: ArgumentParser, help: str) -> None:
    """`--database ALIAS`, repeatable, collected in `options["databases"]` (None when not given)."""
    parser.add_argument("--database", action="append", dest="databases", metavar="ALIAS", help=help)
