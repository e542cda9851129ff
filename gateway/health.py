"""Liveness and readiness endpoints."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

log = logging.getLogger("o2o.health")
READY_TIMEOUT_S = 2.0


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """200 when PostgreSQL answers within the timeout; 503 naming what is down otherwise."""
    try:
        await asyncio.wait_for(request.app.state.database.ping(), READY_TIMEOUT_S)
    except Exception as error:  # any failure means "not ready"; the reason is logged
        log.warning("readiness check failed: postgresql: %s", error)
        return JSONResponse({"status": "unavailable", "down": ["postgresql"]}, status_code=503)
    return JSONResponse({"status": "ok", "checks": {"postgresql": "ok"}})
