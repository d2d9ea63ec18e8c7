"""The status page view: access rule, then health, cards, routing table and last migrate_all run in one template."""

from __future__ import annotations

import io
import json
import time
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse
from django.template import Context, Engine
from django.utils.html import format_html_join
from django.views.decorators.http import require_safe

from multidb.routing import current_table

from .cards import build_cards

REFRESH_SECONDS = 5
# Not an installed app (that would add it to the routing table): the page brings its own template engine.
_ENGINE = Engine(dirs=[str(Path(__file__).parent / "templates")], libraries={}, debug=False)


@require_safe
def status_page(request: HttpRequest) -> HttpResponse:
    if not is_public() and not (request.user.is_authenticated and request.user.is_staff):
        return redirect_to_login(request.get_full_path(), "/admin/login/")
    started = time.monotonic()
    table = current_table()
    timeout = float(settings.MULTIDB_HEALTH_TIMEOUT)
    cards, report, last_run = build_cards(table, timeout)
    context = {
        "cards": cards,
        "ready": report.ok,
        "failing": report.failing,
        "routes_html": _routes_html(),
        "last_run": last_run,
        "environment": settings.CONFIG.environment,
        "refresh": REFRESH_SECONDS,
        "user": request.user,
    }
    context["seconds"] = f"{time.monotonic() - started:.3f}"
    html = _ENGINE.get_template("status.html").render(Context(context))
    # The page is a snapshot of live state: never serve it from a cache.
    return HttpResponse(html, headers={"Cache-Control": "no-store"})


def is_public() -> bool:
    """`status_page: public|staff` in config; unset: public in local/development, staff-only elsewhere."""
    config: Any = settings.CONFIG
    choice = config.status_page or ("public" if config.is_development else "staff")
    return bool(choice == "public")


@cache  # the routing table is built once, at start
def _routes_html() -> str:
    """Exactly what `manage.py dbroutes` prints (from its JSON form), as table rows."""
    out = io.StringIO()
    call_command("dbroutes", "--json", stdout=out)
    rows: list[dict[str, Any]] = json.loads(out.getvalue())
    cells = ((row["app"], ", ".join(row["read"]), row["write"], row["migrate"], row["history"]) for row in rows)
    return format_html_join("\n", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", cells)
