"""Blog JSON API: list and create posts."""

from __future__ import annotations

from typing import Any

from django import forms

from project.jsonapi import collection_endpoint, related_username

from .models import Post


class PostForm(forms.ModelForm):
    class Meta:
        model = Post
        fields = ("title", "content")


def serialize_post(post: Post) -> dict[str, Any]:
    return {
        "id": post.pk,
        "title": post.title,
        "content": post.content,
        "author": related_username(post, "author"),
        "created_at": post.created_at.isoformat(),
    }


# Authors live in another database, so a JOIN is impossible: prefetch them in one extra query.
posts = collection_endpoint(
    queryset=Post.objects.prefetch_related("author"),
    serialize=serialize_post,
    form_class=PostForm,
    owner_field="author",
)
