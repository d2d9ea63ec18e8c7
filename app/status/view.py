"""The status page view: access rule, then health, cards, routing table and last migrate_all run in one template."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse
from django.template import Context, Engine
from django.views.decorators.http import require_safe

from multidb.health import check_databases
from multidb.last_run import read_last_run
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
    report = check_databases(timeout)
    context = {
        "cards": build_cards(table, report, timeout),
        "ready": report.ok,
        "failing": report.failing,
        "routes": _routes(),
        "last_run": read_last_run(),
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


def _routes() -> list[dict[str, Any]]:
    """Exactly what `manage.py dbroutes` prints, from its JSON form."""
    out = io.StringIO()
    call_command("dbroutes", "--json", stdout=out)
    rows: list[dict[str, Any]] = json.loads(out.getvalue())
    for row in rows:
        row["read"] = ", ".join(row["read"])
    return rows
