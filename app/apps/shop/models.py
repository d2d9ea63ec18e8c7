"""Shop models. Database: wherever config homes the `shop` app (shop_db in every shipped config)."""

from django.conf import settings
from django.db import models


class Product(models.Model):
    """Something for sale."""

    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.IntegerField(default=0)

    class Meta:
        db_table = "shop_product"
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name


class Order(models.Model):
    """A customer's order. Relationships: customer (User, in default — no database-level constraint)."""

    order_number = models.CharField(max_length=50, unique=True)
    # Cross-database: no constraint, DO_NOTHING; apps.shop.signals deletes a user's orders in shop_db.
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="orders", db_constraint=False
    )
    total = models.DecimalField(max_digits=10, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "shop_order"
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.order_number
