"""Blog models. Database: wherever config homes the `blog` app (blog_db in every shipped config)."""

from django.conf import settings
from django.db import models


class Post(models.Model):
    """A blog post. Relationships: author (User, in default — no database-level constraint)."""

    title = models.CharField(max_length=200)
    content = models.TextField()
    # Cross-database relation: the user lives in another database, so no FK constraint, and
    # DO_NOTHING because Django's deletion collector would look for posts in the user's database;
    # apps.blog.signals deletes a user's posts and comments in blog_db instead.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="blog_posts", db_constraint=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "blog_post"
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.title


class Comment(models.Model):
    """A comment on a post (same database as the post, so a real FK constraint)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, related_name="blog_comments", db_constraint=False
    )
    content = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "blog_comment"
        ordering = ("created_at", "id")

    def __str__(self) -> str:
        return f"Comment by {self.author_id} on {self.post_id}"
