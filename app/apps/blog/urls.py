"""Blog API routes, included under api/."""

from django.urls import path

from . import api

app_name = "blog"
urlpatterns = [
    path("posts/", api.PostList.as_view(), name="posts"),
]
