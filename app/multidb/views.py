"""Health endpoints: /healthz (process up, no I/O) and /readyz (every alias answers and is migrated)."""

from django.http import HttpRequest, JsonResponse

from .status import Readiness


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": Readiness.OK})


def readyz(request: HttpRequest) -> JsonResponse:
    from .health import check_databases

    report = check_databases()
    return JsonResponse(report.as_dict(), status=200 if report.ok else 503)
