"""`seed`: demo users, posts, comments, products and orders through the ORM, each row where the router sends it."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.db import models, router

from apps.blog.models import Comment, Post
from apps.shop.models import Order, Product

USERS = ("demo-alice", "demo-bob", "demo-carol")
PRODUCTS = (("Mug", "9.50", 12), ("T-shirt", "19.00", 30), ("Sticker", "1.50", 200))


class Command(BaseCommand):
    help = "Create demo users, posts, comments, products and orders; running it again creates nothing new."

    def handle(self, *args: Any, **options: Any) -> None:
        created: Counter[type[models.Model]] = Counter()
        kept: Counter[type[models.Model]] = Counter()
        where: dict[type[models.Model], set[str]] = {}

        def note(model: type[models.Model], instance: models.Model, new: bool) -> None:
            (created if new else kept)[model] += 1
            where.setdefault(model, set()).add(str(instance._state.db))

        products = []
        for name, price, stock in PRODUCTS:
            product, new = Product.objects.get_or_create(name=name, defaults={"price": Decimal(price), "stock": stock})
            note(Product, product, new)
            products.append(product)
        users = []
        for username in USERS:
            user, new = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.invalid"})
            if new:
                user.set_unusable_password()  # demo authors only: nobody logs in as them
                user.save(update_fields=["password"])
            note(User, user, new)
            users.append(user)
        for index, user in enumerate(users):
            post = self._post(user, f"Hello from {user.username}", note)
            self._comment(post, users[(index + 1) % len(users)], note)
            order, new = Order.objects.get_or_create(
                order_number=f"DEMO-{index + 1:03d}", defaults={"customer": user, "total": products[index].price}
            )
            note(Order, order, new)

        for model in (User, Post, Comment, Product, Order):
            aliases = ", ".join(sorted(where.get(model, ())))
            self.stdout.write(
                f"{model._meta.label:<12} {created[model]} created, {kept[model]} already there  -> {aliases}"
            )

    def _post(self, author: User, title: str, note: Any) -> Post:
        # Look where the post would be written (the author's shard, if sharded; never a lagging replica).
        home = router.db_for_write(Post, instance=Post(author=author))
        post = Post.objects.using(home).filter(author=author, title=title).first()
        if post is None:
            post = Post(title=title, content=f"A demo post by {author.username}.", author=author)
            post.save()  # the instance carries the shard key, if any
            note(Post, post, True)
        else:
            note(Post, post, False)
        return post

    def _comment(self, post: Post, author: User, note: Any) -> None:
        comment = Comment.objects.using(post._state.db).filter(post=post, author=author).first()
        if comment is None:
            comment = Comment(post=post, author=author, content=f"Nice post, {post.author.username}!")
            # With its post: sharded by author_id, the router would send it to the commenter's shard instead.
            comment.save(using=post._state.db)
            note(Comment, comment, True)
        else:
            note(Comment, comment, False)
