"""Cascade a user's deletion into blog's databases, which Django's collector cannot reach across databases."""

from typing import Any

from django.conf import settings
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from multidb.routing import current_table

from .models import Comment, Post


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="blog.delete_user_content")
def delete_user_content(sender: Any, instance: Any, **kwargs: Any) -> None:
    # Sharded, a user's comments are spread over every shard (they follow their post), so each alias
    # holding blog's rows is asked; otherwise that is the home alone. Comments on the user's posts go with them.
    route = current_table().route(Comment._meta.app_label)
    for alias in route.shard.aliases if route.shard is not None else (route.home,):
        Comment.objects.using(alias).filter(author_id=instance.pk).delete()
        Post.objects.using(alias).filter(author_id=instance.pk).delete()
