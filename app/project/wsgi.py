"""WSGI entry point for gunicorn (`project.wsgi:application`)."""

import os
import sys

from django.core.wsgi import get_wsgi_application

from multidb.errors import ConfigError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
try:
    application = get_wsgi_application()
except ConfigError as error:
    sys.stderr.write(f"config error: {error}\n")
    raise SystemExit(2) from None
