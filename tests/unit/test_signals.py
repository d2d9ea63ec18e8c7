"""Deleting a user reaches into blog_db and shop_db, which Django's collector cannot do by itself."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connections

from apps.blog.models import Comment, Post
from apps.shop.models import Order

pytestmark = pytest.mark.django_db(databases=["default", "blog_db", "shop_db"])


def count(alias: str, table: str, column: str, value: int) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE {column} = %s", [value])  # noqa: S608 - test constants
        return int(cursor.fetchone()[0])


def test_deleting_a_user_deletes_their_posts_comments_and_orders_in_their_databases() -> None:
    alice, bob = User.objects.create_user("alice"), User.objects.create_user("bob")
    post = Post.objects.create(title="t", content="c", author=alice)
    Comment.objects.create(post=post, author=bob, content="on alice's post")
    Comment.objects.create(post=Post.objects.create(title="b", content="c", author=bob), author=alice, content="x")
    Order.objects.create(order_number="A-1", customer=alice, total=Decimal("1.00"))
    Order.objects.create(order_number="B-1", customer=bob, total=Decimal("2.00"))

    alice_id = alice.pk
    alice.delete()

    assert count("blog_db", "blog_post", "author_id", alice_id) == 0
    assert count("blog_db", "blog_comment", "post_id", post.pk) == 0  # comments on her post went with it
    assert count("blog_db", "blog_comment", "author_id", alice_id) == 0
    assert count("shop_db", "shop_order", "customer_id", alice_id) == 0
    assert count("blog_db", "blog_post", "author_id", bob.pk) == 1
    assert count("shop_db", "shop_order", "customer_id", bob.pk) == 1
