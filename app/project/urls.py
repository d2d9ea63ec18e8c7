"""URL map: status page, admin, health probes, JSON API."""

from django.contrib import admin
from django.urls import include, path

from multidb import views as health_views
from status.view import status_page

urlpatterns = [
    path("", status_page, name="status"),
    path("admin/", admin.site.urls),
    path("healthz", health_views.healthz, name="healthz"),
    path("readyz", health_views.readyz, name="readyz"),
    path("api/", include("apps.blog.urls")),
    path("api/", include("apps.shop.urls")),
]
