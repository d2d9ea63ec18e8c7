# ruff: noqa: N999 - gunicorn's conventional name for its config file (the deployments call it by this path)
"""gunicorn's settings, from the environment: `gunicorn -c app/project/gunicorn.conf.py project.wsgi:application`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(APP_DIR))  # project.* below, whatever directory gunicorn was started from

from project.gunicorn_logging import LOGCONFIG, JsonAccessLogger  # noqa: E402 - needs the path above

chdir = str(APP_DIR)
# Ansible: 127.0.0.1 (nginx on the same host). Compose sets 0.0.0.0:8000: the proxy is another container.
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
# Each thread keeps its own connection per alias (conn_max_age): a host opens up to
# workers x threads connections to every database; size max_connections for all app hosts.
workers = int(os.environ.get("GUNICORN_WORKERS") or os.environ.get("WEB_CONCURRENCY") or 2)
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
# Only the proxy may set X-Forwarded-For/-Proto; '*' would let any client claim to be HTTPS or another address.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
timeout = 30
# A stop lets in-flight requests finish this long; the deployments wait 35 s before killing.
graceful_timeout = 30
# A broken config fails the master at once instead of every worker in a loop.
preload_app = True
accesslog = "-"
logger_class = JsonAccessLogger
logconfig_dict = LOGCONFIG
