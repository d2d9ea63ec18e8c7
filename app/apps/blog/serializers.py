"""Blog API representations: the JSON field names the hand-written API had."""

from __future__ import annotations

from rest_framework import serializers

from .models import Post


class PostSerializer(serializers.ModelSerializer[Post]):
    # The author lives in another database; a row whose user is missing there reads as null, not a 500.
    author = serializers.CharField(source="author.username", read_only=True, allow_null=True)

    class Meta:
        model = Post
        fields = ("id", "title", "content", "author", "created_at")
        read_only_fields = ("created_at",)
