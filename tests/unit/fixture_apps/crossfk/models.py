"""A model homed on default with a constrained FK to blog.Post (homed on blog_db): multidb.E001."""

from django.db import models


class Bookmark(models.Model):
    post = models.ForeignKey("blog.Post", on_delete=models.CASCADE)  # db_constraint=False missing on purpose
