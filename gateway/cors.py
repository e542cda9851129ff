"""Cross-origin access for browser apps: an allow-list from ``CORS_ALLOW_ORIGINS``.

Starlette's CORS middleware answers preflights before anything else runs, so a refused
origin costs nothing; a wildcard never goes with credentials (``check_settings`` refuses it).
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from gateway.settings import Settings

ALLOWED_HEADERS = ("Authorization", "Content-Type", "Accept", "X-API-Key", "X-Request-ID")
EXPOSED_HEADERS = (
    "X-Request-ID",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "X-Query-Cost",
    "ETag",
)


def cors_middleware(settings: Settings) -> list[Middleware]:
    """The CORS layer for the configured origins; none when no origin is allowed."""
    if not settings.cors_origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=list(ALLOWED_HEADERS),
            expose_headers=list(EXPOSED_HEADERS),
            allow_credentials=settings.cors_allow_credentials,
            max_age=600,
        )
    ]
