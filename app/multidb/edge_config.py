"""The config's edge blocks: `security` (TLS proxy, cookies, HSTS) and per-alias `timeouts`, with their defaults."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from .config_types import Flag, StrictModel, WholeNumber

YEAR = 31_536_000
# PostgreSQL's timeouts are int4 milliseconds.
_MAX_MS = 2_147_483_647
# What Django accepts in CSRF_TRUSTED_ORIGINS: a scheme and a host (a leading *. allowed), an optional port, no path.
_ORIGIN = re.compile(r"https?://(\*\.)?[A-Za-z0-9_.\-\[\]:]+")
# Probes are plain HTTP from the orchestrator (Compose healthcheck, a load balancer): never redirected.
PROBE_PATHS = (r"^healthz$", r"^readyz$")


class SecurityOptions(StrictModel):
    """What the app trusts of the TLS proxy in front of it; a None is the environment's default (`resolved`)."""

    behind_proxy: Flag | None = None  # trust X-Forwarded-Proto: https (the proxy sets it, clients cannot reach us)
    csrf_trusted_origins: tuple[str, ...] = ()
    secure_cookies: Flag | None = None
    hsts_seconds: WholeNumber | None = Field(default=None, ge=0, le=2 * YEAR)
    hsts_include_subdomains: Flag | None = None
    hsts_preload: Flag | None = None
    ssl_redirect: Flag | None = None

    @field_validator("csrf_trusted_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    "each origin must be a scheme and host with an optional port and no path; "
                    "write e.g. https://www.example.com or https://127.0.0.1:8443"
                )
        return value

    def resolved(self, strict: bool) -> SecurityOptions:
        """Every None replaced: on (HSTS one year) when `strict` (staging, production), off otherwise."""
        defaults: dict[str, Any] = {
            "behind_proxy": strict,
            "secure_cookies": strict,
            "hsts_seconds": YEAR if strict else 0,
            "hsts_include_subdomains": strict,
            "hsts_preload": strict,
            "ssl_redirect": strict,
        }
        return self.model_copy(update={k: v for k, v in defaults.items() if getattr(self, k) is None})

    def django_settings(self) -> dict[str, Any]:
        """Django's security settings from a resolved block (see `resolved`)."""
        hsts = self.hsts_seconds or 0
        return {
            "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https") if self.behind_proxy else None,
            "CSRF_TRUSTED_ORIGINS": list(self.csrf_trusted_origins),
            "SESSION_COOKIE_SECURE": bool(self.secure_cookies),
            "CSRF_COOKIE_SECURE": bool(self.secure_cookies),
            "SECURE_HSTS_SECONDS": hsts,
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": bool(hsts and self.hsts_include_subdomains),
            "SECURE_HSTS_PRELOAD": bool(hsts and self.hsts_preload),
            "SECURE_SSL_REDIRECT": bool(self.ssl_redirect),
            "SECURE_REDIRECT_EXEMPT": list(PROBE_PATHS),
        }


class TimeoutOptions(StrictModel):
    """Milliseconds, 0 = none. The deployments set the first two on the runtime role; migrate_all uses the rest."""

    statement: WholeNumber = Field(default=30_000, ge=0, le=_MAX_MS)
    idle_in_transaction: WholeNumber = Field(default=60_000, ge=0, le=_MAX_MS)
    migration_lock: WholeNumber = Field(default=5_000, ge=0, le=_MAX_MS)
    migration_lock_retries: WholeNumber = Field(default=3, ge=0, le=100)
