"""Django settings: everything environment-specific comes from the YAML config (multidb.loader)."""

from __future__ import annotations

import os
from pathlib import Path

from multidb.loader import config_path, load_config
from multidb.routing import build_routing_table
from multidb.settings_builder import django_databases
from project.logging_json import logging_config

BASE_DIR = Path(__file__).resolve().parents[2]  # the repository root

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "multidb",
    "apps.blog",
    "apps.shop",
]

CONFIG_PATH = config_path(os.environ, BASE_DIR)
CONFIG = load_config(CONFIG_PATH, INSTALLED_APPS)

DATABASES = django_databases(CONFIG, BASE_DIR)
DATABASE_ROUTERS = ["multidb.router.ConfigRouter"]
MULTIDB_ROUTING = build_routing_table(CONFIG, INSTALLED_APPS)
MULTIDB_HEALTH_TIMEOUT = CONFIG.health.timeout
MULTIDB_WRITES_MIGRATIONS = CONFIG.is_development

DEBUG = CONFIG.debug
# Development configs may omit the key; others are refused by the loader without a real one.
SECRET_KEY = CONFIG.secret_key.get_secret_value() if CONFIG.secret_key else "django-insecure-local-development-only"
ALLOWED_HOSTS = list(CONFIG.allowed_hosts)

# Behind the TLS proxy (config `security`; strict by default in staging and production).
_SECURITY = CONFIG.effective_security.django_settings()
SECURE_PROXY_SSL_HEADER = _SECURITY["SECURE_PROXY_SSL_HEADER"]
CSRF_TRUSTED_ORIGINS = _SECURITY["CSRF_TRUSTED_ORIGINS"]
SESSION_COOKIE_SECURE = _SECURITY["SESSION_COOKIE_SECURE"]
CSRF_COOKIE_SECURE = _SECURITY["CSRF_COOKIE_SECURE"]
SECURE_HSTS_SECONDS = _SECURITY["SECURE_HSTS_SECONDS"]
SECURE_HSTS_INCLUDE_SUBDOMAINS = _SECURITY["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
SECURE_HSTS_PRELOAD = _SECURITY["SECURE_HSTS_PRELOAD"]
SECURE_SSL_REDIRECT = _SECURITY["SECURE_SSL_REDIRECT"]
SECURE_REDIRECT_EXEMPT = _SECURITY["SECURE_REDIRECT_EXEMPT"]
# Django's defaults today, written out so a future default change cannot weaken them silently.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
TIME_ZONE = CONFIG.time_zone
USE_TZ = True
LANGUAGE_CODE = "en-us"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

MIDDLEWARE = [
    "project.request_log.RequestLogMiddleware",  # first: even a redirect or a middleware's error has an id
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "multidb.middleware.ReadYourWritesMiddleware",
]
ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "build" / "static"
# JSON lines on stderr; every 500 with its traceback (project/logging_json.py).
LOGGING = logging_config(os.environ.get("MULTIDB_LOG_LEVEL", "INFO"))

# Throttle counts live here; a directory (not process memory) so every gunicorn worker of a host shares them.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get("DJANGO_CACHE_DIR", "/tmp/multidb-cache"),  # noqa: S108 - tmpfs in Compose
    }
}
# The admin login and the API's Basic auth share one failure throttle, checked before any hashing.
AUTHENTICATION_BACKENDS = ["project.api.backends.ThrottledModelBackend"]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "project.api.authentication.ThrottledBasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["project.api.parsers.StrictJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "project.api.pagination.LimitOffsetPagination",
    "DEFAULT_THROTTLE_CLASSES": ["project.api.throttles.AuthenticatedUserThrottle"],
    # login_failure: failed logins per client address (admin and API); user: calls per authenticated user.
    "DEFAULT_THROTTLE_RATES": {"login_failure": "20/10m", "user": "1200/minute"},
    "EXCEPTION_HANDLER": "project.api.exceptions.exception_handler",
    "NON_FIELD_ERRORS_KEY": "__all__",
    "DEFAULT_SCHEMA_CLASS": "project.api.schema.ApiAutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "multidb-reference API",
    "DESCRIPTION": "Posts (blog_db), products and orders (shop_db). Errors: {detail, errors}; 503 names the alias.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}
