"""Shop admin. No .using(): the router sends every query to shop_db, and user lookups to default."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Order, Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "price", "stock")
    search_fields = ("name",)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("order_number", "customer", "total", "created_at")
    # Not customer__username: auth_user is in another database, so the JOIN would fail.
    search_fields = ("order_number",)
    # A text box validated through the router, instead of a <select> of every user.
    raw_id_fields = ("customer",)
    # The admin's default select_related() for FK columns would JOIN auth_user; see get_queryset.
    list_select_related = ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        # One extra query on default for the page's customers instead of one per row.
        return super().get_queryset(request).prefetch_related("customer")
