"""Shop app config."""

from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "apps.shop"
    label = "shop"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the cross-database delete handlers
