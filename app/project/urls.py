"""URL map: status page, admin, health probes, JSON API and its OpenAPI schema."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from multidb import views as health_views
from project.api.backends import ThrottledAdminAuthenticationForm
from status.view import status_page

# Says "too many failed logins" when an address is throttled (project.api.backends).
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("", status_page, name="status"),
    path("admin/", admin.site.urls),
    path("healthz", health_views.healthz, name="healthz"),
    path("readyz", health_views.readyz, name="readyz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/", include("apps.blog.urls")),
    path("api/", include("apps.shop.urls")),
]

# Under /api/ these answer JSON; elsewhere Django's own pages.
handler400 = "project.api.errors.bad_request"
handler403 = "project.api.errors.permission_denied"
handler404 = "project.api.errors.page_not_found"
handler500 = "project.api.errors.server_error"
