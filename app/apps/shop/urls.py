"""Shop API routes, included under api/."""

from django.urls import path

from . import api

app_name = "shop"
urlpatterns = [
    path("products/", api.products, name="products"),
    path("orders/", api.orders, name="orders"),
]
