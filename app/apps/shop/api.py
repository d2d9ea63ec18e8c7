"""Shop JSON API: products (anyone reads, shop.add_product creates) and orders (each user their own)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import DjangoModelPermissionsOrAnonReadOnly, IsAuthenticated

from project.api.views import CollectionView

from .models import Order, Product
from .serializers import OrderSerializer, ProductSerializer


class ProductList(CollectionView):
    """Products by name. Anyone lists; creating needs the shop.add_product permission."""

    queryset = Product.objects.all()
    serializer_class = ProductSerializer
    # POST needs shop.add_product; reads need nothing.
    permission_classes = (DjangoModelPermissionsOrAnonReadOnly,)


class OrderList(CollectionView):
    """Orders, newest first. Authenticated only: each user lists their own, staff list all."""

    # Customers live in another database, so a JOIN is impossible: prefetch them in one extra query.
    queryset = Order.objects.prefetch_related("customer")
    serializer_class = OrderSerializer
    permission_classes = (IsAuthenticated,)
    owner_field = "customer"

    def get_queryset(self) -> Any:
        orders = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular's schema pass has no real caller
            return orders.none()
        user = self.request.user
        return orders if user.is_staff else orders.filter(customer_id=user.pk)
