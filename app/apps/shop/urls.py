"""Shop API routes, included under api/."""

from django.urls import path

from . import api

app_name = "shop"
urlpatterns = [
    path("products/", api.ProductList.as_view(), name="products"),
    path("orders/", api.OrderList.as_view(), name="orders"),
]
