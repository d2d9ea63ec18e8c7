"""App config: registers the routing system checks."""

from django.apps import AppConfig


class MultidbConfig(AppConfig):
    name = "multidb"
    verbose_name = "Multi-database routing"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the checks
