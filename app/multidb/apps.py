"""App config: registers the routing system checks and the shard placement guard."""

from django.apps import AppConfig


class MultidbConfig(AppConfig):
    name = "multidb"
    verbose_name = "Multi-database routing"

    def ready(self) -> None:
        from . import checks, sharding  # noqa: F401 - registers the checks and the pre_save shard guard
