# ruff: noqa: N999 - the name must match the real migration's, which shop's history records
"""shop's real initial migration, unchanged."""

from importlib import import_module

Migration = import_module("apps.shop.migrations.0001_initial").Migration
