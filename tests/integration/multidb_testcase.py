"""A project test written the way users write theirs: Django's TestCase over all three databases.

Not collected by the integration suite itself (no test_ prefix): test_django_test_runner.py runs it in a
subprocess through `manage.py test` and through pytest-django, against PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.test import TestCase

from apps.blog.models import Comment, Post
from apps.shop.models import Order, Product

ALL_DATABASES = {"default", "blog_db", "shop_db"}


def table_rows(alias: str, table: str) -> int | None:
    """Rows in `table` on `alias` by raw SQL, or None when the table does not exist there."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        if table not in connection.introspection.table_names(cursor):
            return None
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - table names are constants
        return int(cursor.fetchone()[0])


class MultiDatabaseTestCase(TestCase):
    databases = ALL_DATABASES

    @classmethod
    def setUpTestData(cls) -> None:
        cls.user = User.objects.create_user("alice")
        cls.post = Post.objects.create(title="Hello", content="First", author=cls.user)

    def test_runs_on_test_databases_of_each_alias(self) -> None:
        for alias in ALL_DATABASES:
            self.assertTrue(connections[alias].settings_dict["NAME"].startswith("test_"), alias)
            self.assertEqual(connections[alias].vendor, "postgresql")

    def test_each_model_is_written_to_its_home_database(self) -> None:
        Comment.objects.create(post=self.post, author=self.user, content="Nice")
        Product.objects.create(name="Mug", price=Decimal("9.50"), stock=3)
        Order.objects.create(order_number="A-1", customer=self.user, total=Decimal("9.50"))

        self.assertEqual((table_rows("blog_db", "blog_post"), table_rows("blog_db", "blog_comment")), (1, 1))
        self.assertEqual((table_rows("shop_db", "shop_product"), table_rows("shop_db", "shop_order")), (1, 1))
        self.assertEqual(table_rows("default", "auth_user"), 1)
        for alias, table in [("default", "blog_post"), ("default", "shop_order"), ("blog_db", "auth_user")]:
            self.assertIsNone(table_rows(alias, table), f"{table} exists in {alias}")

    def test_relations_across_databases(self) -> None:
        self.assertEqual(Post.objects.get(pk=self.post.pk).author.username, "alice")
        self.assertEqual([post.title for post in self.user.blog_posts.all()], ["Hello"])

    def test_every_database_is_rolled_back_between_tests(self) -> None:
        # Runs after test_each_model_is_written_to_its_home_database (alphabetical): its rows are gone.
        self.assertEqual((table_rows("blog_db", "blog_comment"), table_rows("shop_db", "shop_product")), (0, 0))


@pytest.mark.django_db(databases=sorted(ALL_DATABASES))
def test_pytest_django_marker_reaches_every_database() -> None:
    """pytest-django's spelling: the marker names the databases (ignored by `manage.py test`)."""
    user = User.objects.create_user("bob")
    Order.objects.create(order_number="B-1", customer=user, total=Decimal("1.00"))
    assert Order.objects.get().customer == user
    assert table_rows("shop_db", "shop_order") == 1
