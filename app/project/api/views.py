"""The collection endpoint every API resource uses: list (paginated) and create, nothing else."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import IntegrityError, router, transaction
from rest_framework import generics, serializers
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.request import Request


class CollectionView(generics.ListCreateAPIView):  # type: ignore[type-arg]
    """GET lists, POST creates; `owner_field` is set to the caller, never taken from the payload."""

    http_method_names: ClassVar[list[str]] = ["get", "head", "post"]  # the Allow header reads "GET, HEAD, POST"
    owner_field: str | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # 405 before authentication and permissions: PUT is not a method here, whoever asks.
        if request.method and request.method.lower() not in self.http_method_names:
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        owner = {self.owner_field: self.request.user} if self.owner_field else {}
        model = self.get_queryset().model
        try:
            # A savepoint on the model's own database keeps its connection usable after a lost race.
            with transaction.atomic(using=router.db_for_write(model)):
                serializer.save(**owner)
        except IntegrityError as e:
            # The serializer's unique checks passed, so a concurrent request created the same row first.
            raise serializers.ValidationError("conflicts with a record created concurrently; retry") from e
