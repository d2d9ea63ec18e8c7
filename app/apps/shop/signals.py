"""Cascade a user's deletion into shop_db, which Django's collector cannot reach across databases."""

from typing import Any

from django.conf import settings
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from .models import Order


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="shop.delete_user_orders")
def delete_user_orders(sender: Any, instance: Any, **kwargs: Any) -> None:
    Order.objects.filter(customer_id=instance.pk).delete()  # routed to shop_db
