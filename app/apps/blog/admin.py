"""Blog admin. No .using(): the router sends every query to blog_db, and user lookups to default."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Comment, Post


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("title", "author", "created_at")
    # Not author__username: auth_user is in another database, so the JOIN would fail.
    search_fields = ("title", "content")
    # A text box validated through the router, instead of a <select> of every user.
    raw_id_fields = ("author",)
    # The admin's default select_related() for FK columns would JOIN auth_user; see get_queryset.
    list_select_related = ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Post]:
        # One extra query on default for the page's authors instead of one per row.
        return super().get_queryset(request).prefetch_related("author")


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("__str__", "post", "author", "created_at")
    search_fields = ("content", "post__title")  # post is in the same database, so this JOIN is fine
    raw_id_fields = ("post", "author")
    list_select_related = ("post",)  # same database; author is prefetched below

    def get_queryset(self, request: HttpRequest) -> QuerySet[Comment]:
        return super().get_queryset(request).prefetch_related("author")
