"""Cascade a user's deletion into blog_db, which Django's collector cannot reach across databases."""

from typing import Any

from django.conf import settings
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from .models import Comment, Post


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="blog.delete_user_content")
def delete_user_content(sender: Any, instance: Any, **kwargs: Any) -> None:
    # Routed to blog_db by the router; comments on the user's posts go with them (same database).
    Comment.objects.filter(author_id=instance.pk).delete()
    Post.objects.filter(author_id=instance.pk).delete()
