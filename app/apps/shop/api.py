"""Shop JSON API: list and create products and orders."""

from __future__ import annotations

from typing import Any

from django import forms

from project.jsonapi import collection_endpoint, decimal_text, related_username

from .models import Order, Product

# PostgreSQL's integer column is 32-bit; SQLite's range would let a larger stock through and fail on the server.
_MAX_STOCK = 2**31 - 1


class ProductForm(forms.ModelForm):
    # Explicit fields: the model allows negatives, which make no sense for a price or a stock count.
    price = forms.DecimalField(min_value=0, max_digits=10, decimal_places=2)
    stock = forms.IntegerField(min_value=0, max_value=_MAX_STOCK)

    class Meta:
        model = Product
        fields = ("name", "price", "stock")


class OrderForm(forms.ModelForm):
    total = forms.DecimalField(min_value=0, max_digits=10, decimal_places=2)

    class Meta:
        model = Order
        fields = ("order_number", "total")


def serialize_product(product: Product) -> dict[str, Any]:
    # Decimals as strings: a JSON number would round-trip through a float in most clients.
    return {"id": product.pk, "name": product.name, "price": decimal_text(product, "price"), "stock": product.stock}


def serialize_order(order: Order) -> dict[str, Any]:
    return {
        "id": order.pk,
        "order_number": order.order_number,
        "customer": related_username(order, "customer"),
        "total": decimal_text(order, "total"),
        "created_at": order.created_at.isoformat(),
    }


products = collection_endpoint(queryset=Product.objects.all(), serialize=serialize_product, form_class=ProductForm)

# Customers live in another database, so a JOIN is impossible: prefetch them in one extra query.
orders = collection_endpoint(
    queryset=Order.objects.prefetch_related("customer"),
    serialize=serialize_order,
    form_class=OrderForm,
    owner_field="customer",
)
