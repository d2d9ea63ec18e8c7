"""Shop API representations: decimals as strings with the column's scale, users by username."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from .models import Order, Product

# PostgreSQL's integer column is 32-bit; SQLite's range would let a larger stock through and fail on the server.
_MAX_STOCK = 2**31 - 1


def _money() -> serializers.DecimalField:
    # Explicit: the model allows negatives, which make no sense for a price or a total.
    return serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal(0))


class ProductSerializer(serializers.ModelSerializer[Product]):
    price = _money()
    stock = serializers.IntegerField(min_value=0, max_value=_MAX_STOCK)

    class Meta:
        model = Product
        fields = ("id", "name", "price", "stock")


class OrderSerializer(serializers.ModelSerializer[Order]):
    # The customer lives in another database; a row whose user is missing there reads as null.
    customer = serializers.CharField(source="customer.username", read_only=True, allow_null=True)
    total = _money()

    class Meta:
        model = Order
        fields = ("id", "order_number", "customer", "total", "created_at")
        read_only_fields = ("created_at",)
