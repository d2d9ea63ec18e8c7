"""Blog JSON API: anyone lists posts; an authenticated caller creates them as the author."""

from __future__ import annotations

from rest_framework.permissions import IsAuthenticatedOrReadOnly

from project.api.views import CollectionView

from .models import Post
from .serializers import PostSerializer


class PostList(CollectionView):
    """Posts, newest first. Anyone lists; an authenticated caller creates, as the author."""

    # Authors live in another database, so a JOIN is impossible: prefetch them in one extra query.
    queryset = Post.objects.prefetch_related("author")
    serializer_class = PostSerializer
    permission_classes = (IsAuthenticatedOrReadOnly,)
    owner_field = "author"
