"""GET /api/posts/ (50 posts) on Django REST Framework against a copy of the hand-written endpoint it replaced.

Both run in this one process against the same three PostgreSQL servers (Testcontainers, the stack's
topology), through Django's whole request path (middleware, URL resolution) with the test client, alternating
in rounds; connections are kept open (CONN_MAX_AGE) so the figures are the API layer, not the connection
setup both would pay alike. DRF's list also counts the rows (the `count` of limit/offset pagination): one
query more than the old endpoint, part of what is measured. Goal: DRF within 1.15x of the old endpoint.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "app"))

POSTS, ROUNDS, PER_ROUND, WARMUP = 50, 10, 60, 50
GOAL = 1.15
PATHS = {"DRF (/api/posts/)": "/api/posts/", "hand-written (copy)": "/bench/legacy-posts/"}


def main() -> None:
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        raise SystemExit("bench/api.py needs a Docker engine (PostgreSQL in Testcontainers)")
    from tests.integration.postgres import SERVICES, Target, running_servers, write_config
    from tests.unit.cli import manage

    with running_servers() as servers, tempfile.TemporaryDirectory() as workdir:
        targets = {alias: Target(servers[service], service) for alias, service in SERVICES.items()}
        config = write_config(Path(workdir) / "bench.yaml", targets)
        done = manage("migrate_all", "--skip-makemigrations", config=config)
        if done.returncode != 0:
            raise SystemExit(f"migrate_all failed:\n{done.stdout}{done.stderr}")
        os.environ.update(APP_CONFIG=str(config), DJANGO_CACHE_DIR=str(Path(workdir) / "cache"))
        os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
        measure()


def measure() -> None:
    import django
    from django.conf import settings

    django.setup()
    for database in settings.DATABASES.values():
        database["CONN_MAX_AGE"] = 600  # before the first connection: both variants reuse theirs
    settings.ALLOWED_HOSTS = ["testserver"]
    _install_urlconf()
    _seed()
    from django.test import Client

    client = Client()
    samples: dict[str, list[float]] = {label: [] for label in PATHS}
    elapsed = dict.fromkeys(PATHS, 0.0)
    for path in PATHS.values():
        _timed(client, path, WARMUP)  # imports, the first connections, prepared caches
    for _ in range(ROUNDS):
        for label, path in PATHS.items():
            started = time.perf_counter()
            samples[label].extend(_timed(client, path, PER_ROUND))
            elapsed[label] += time.perf_counter() - started
    _report(samples, elapsed)


def _timed(client: Any, path: str, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200 or len(response.json()["results"]) != POSTS:
            raise SystemExit(f"{path}: {response.status_code} {response.content[:200]!r}")
    return latencies


def _report(samples: dict[str, list[float]], elapsed: dict[str, float]) -> None:
    print(f"GET of {POSTS} posts, {ROUNDS * PER_ROUND} requests each, in-process (Django test client), PostgreSQL:")
    rates = {}
    for label, latencies in samples.items():
        rates[label] = len(latencies) / elapsed[label]
        p99 = statistics.quantiles(latencies, n=100)[98]
        print(
            f"  {label:22} {rates[label]:8.1f} req/s   p50 {statistics.median(latencies) * 1000:6.2f} ms"
            f"   p99 {p99 * 1000:6.2f} ms"
        )
    drf, old = (rates[label] for label in PATHS)
    ratio = old / drf
    met = "met" if ratio <= GOAL else "MISSED"
    print(f"  time per request, DRF / hand-written: {ratio:.2f}x  (goal <= {GOAL}x: {met})")


def _seed() -> None:
    from django.contrib.auth.models import User

    from apps.blog.models import Post

    author = User.objects.create_user("bench-author")
    Post.objects.bulk_create(Post(title=f"post {i}", content="lorem ipsum " * 20, author=author) for i in range(POSTS))


def _install_urlconf() -> None:
    from django.conf import settings
    from django.urls import path

    from project import urls

    module = types.ModuleType("bench_urls")
    module.urlpatterns = [path("bench/legacy-posts/", _legacy_posts_view()), *urls.urlpatterns]  # type: ignore[attr-defined]
    sys.modules["bench_urls"] = module
    settings.ROOT_URLCONF = "bench_urls"


def _legacy_posts_view() -> Callable[..., Any]:
    """The GET path of the hand-written endpoint as it was before DRF (project/jsonapi.py, apps/blog/api.py)."""
    from django import forms
    from django.core.exceptions import ObjectDoesNotExist
    from django.http import HttpRequest, JsonResponse
    from django.views.decorators.csrf import csrf_exempt

    from apps.blog.models import Post

    max_limit = 100
    queryset = Post.objects.prefetch_related("author")

    class LimitForm(forms.Form):
        limit = forms.IntegerField(min_value=1, max_value=max_limit, required=False)

    def related_username(instance: Any, field_name: str) -> str | None:
        try:
            user = getattr(instance, field_name)
        except ObjectDoesNotExist:
            return None
        return None if user is None else str(user.get_username())

    def serialize_post(post: Post) -> dict[str, Any]:
        return {
            "id": post.pk,
            "title": post.title,
            "content": post.content,
            "author": related_username(post, "author"),
            "created_at": post.created_at.isoformat(),
        }

    @csrf_exempt
    def view(request: HttpRequest) -> JsonResponse:
        form = LimitForm(request.GET)
        if not form.is_valid():
            return JsonResponse({"errors": form.errors}, status=400)
        limit = form.cleaned_data["limit"] or max_limit
        return JsonResponse({"results": [serialize_post(obj) for obj in queryset.all()[:limit]]})

    return view


if __name__ == "__main__":
    main()
