"""Settings for subprocess tests: the project's settings plus fixture apps named in TEST_EXTRA_APPS."""

import os

from multidb.routing import build_routing_table
from project.settings import *  # noqa: F403
from project.settings import CONFIG, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, *filter(None, os.environ.get("TEST_EXTRA_APPS", "").split(","))]
MULTIDB_ROUTING = build_routing_table(CONFIG, INSTALLED_APPS)
