# ruff: noqa: N999 - the name must match the real migration's, which blog's history records
"""blog's real initial migration, unchanged."""

from importlib import import_module

Migration = import_module("apps.blog.migrations.0001_initial").Migration
