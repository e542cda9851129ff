"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from commerce.discovery.indexing import index_lag
from commerce.insights.funnel import Funnel
from commerce.live.hub import EventHub
from commerce.live.listener import ListenerState
from gateway.metrics import exposition, sample_pool

log = logging.getLogger("o2o.health")
READY_TIMEOUT_S = 2.0


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _check(name: str, probe: Awaitable[object]) -> str | None:
    """``None`` when the probe answered in time, else the name of what is down."""
    try:
        await asyncio.wait_for(probe, READY_TIMEOUT_S)
    except Exception as error:  # any failure means "not ready"; the reason is logged
        # a timeout's message is empty: name the exception instead
        log.warning("readiness check failed: %s: %s", name, str(error) or type(error).__name__)
        return name
    return None


async def readyz(request: Request) -> JSONResponse:
    """200 when PostgreSQL and search answer within the timeout; 503 naming what is down.

    Redis is reported but never makes the gateway unready: rate limits fail open, so the
    gateway serves without it (``"limits": "not enforced"``)."""
    state = request.app.state
    results = await asyncio.gather(
        _check("postgresql", state.database.ping()),
        _check("search", state.search.ping()),
        _check("redis", state.gate.limiter.ping()),
    )
    down = [name for name in results[:2] if name is not None]
    limits = "enforced" if results[2] is None else "not enforced"
    if down:
        return JSONResponse(
            {"status": "unavailable", "down": down, "limits": limits}, status_code=503
        )
    return JSONResponse(
        {"status": "ok", "checks": {"postgresql": "ok", "search": "ok"}, "limits": limits}
    )


async def metrics(request: Request) -> Response:
    """Prometheus text: requests, errors, pool, search, limits (:mod:`gateway.metrics`), then
    the search index lag (outbox rows not yet in the index, oldest age) and the live events
    of this process."""
    sample_pool(request.app.state.database)
    lines: list[str] = []
    try:
        lag = await asyncio.wait_for(index_lag(request.app.state.database), READY_TIMEOUT_S)
    except Exception as error:  # metrics must answer even when PostgreSQL does not
        log.warning("metrics: cannot read the outbox: %s", error)
        lines += _gauge("o2o_postgresql_up", "PostgreSQL answered the metrics query.", 0)
    else:
        lines += _gauge("o2o_postgresql_up", "PostgreSQL answered the metrics query.", 1)
        lines += _gauge(
            "o2o_search_outbox_pending",
            "Changes in PostgreSQL not yet published to the search index.",
            lag.pending,
        )
        lines += _gauge(
            "o2o_search_index_lag_seconds",
            "Age of the oldest change not yet published to the search index (0 when none).",
            round(lag.oldest_age_s, 3),
        )
        lines += _gauge(
            "o2o_search_outbox_set_aside",
            "Changes the search index refused repeatedly (see search_outbox.last_error).",
            lag.set_aside,
        )
    lines += _live_metrics(request.app.state)
    lines += _funnel_metrics(request.app.state)
    body = exposition() + ("\n".join(lines) + "\n").encode()
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


def _live_metrics(state: State) -> list[str]:
    """The live-event listener and hub of this process (see ARCHITECTURE.md "Live events")."""
    hub: EventHub | None = getattr(state, "live", None)
    listener: ListenerState | None = getattr(state, "live_listener", None)
    if hub is None or listener is None:
        return []
    return [
        *_gauge(
            "o2o_live_listening",
            "The LISTEN connection is up.",
            int(listener.listening.is_set()),
        ),
        *_gauge("o2o_live_subscriptions", "Live subscriptions open here.", hub.subscriptions),
        *_counter("o2o_live_events_total", "Live events received.", hub.published),
        *_counter(
            "o2o_live_dropped_subscribers_total",
            "Subscriptions ended because they fell behind.",
            hub.dropped_subscribers,
        ),
        *_counter(
            "o2o_live_listener_failures_total",
            "Times the LISTEN connection failed or could not connect.",
            listener.failures,
        ),
    ]


def _funnel_metrics(state: State) -> list[str]:
    """The funnel counters of this process (:mod:`commerce.insights.funnel`)."""
    funnel: Funnel | None = getattr(state, "funnel", None)
    if funnel is None:
        return []
    stats = funnel.stats
    return [
        *_gauge(
            "o2o_funnel_pending_counters",
            "Funnel counters not yet flushed.",
            funnel.pending_counters,
        ),
        *_counter("o2o_funnel_flushes_total", "Funnel flushes written.", stats.flushes),
        *_counter("o2o_funnel_flush_failures_total", "Funnel flushes that failed.", stats.failures),
        *_counter(
            "o2o_funnel_dropped_total",
            "Impressions and views not counted: the counters were full (FUNNEL_MAX_KEYS).",
            stats.dropped,
        ),
    ]


def _counter(name: str, help_text: str, value: float) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"]


def _gauge(name: str, help_text: str, value: float) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value}"]
