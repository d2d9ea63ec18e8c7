"""The custom label: the routing table derives 'relabel' from the module path, the registry knows 'relabeled'."""

from django.apps import AppConfig


class RelabelConfig(AppConfig):
    name = "tests.unit.fixture_apps.relabel"
    label = "relabeled"
