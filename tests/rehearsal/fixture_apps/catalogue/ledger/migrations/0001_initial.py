"""ledger's first release's initial migration, unchanged."""

from importlib import import_module

Migration = import_module("tests.rehearsal.fixture_apps.v1.ledger.migrations.0001_initial").Migration
