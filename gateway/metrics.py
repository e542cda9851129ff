"""Prometheus metrics of the gateway (prometheus-client), and the ``/metrics`` text.

Multi-worker: with ``PROMETHEUS_MULTIPROC_DIR`` set before start, every worker process writes
its values to files there and a scrape of any worker reads them all
(``prometheus_client.multiprocess``); empty the directory before the workers start. Gauges of
live state (pool, WebSocket connections) are summed over live workers.

Label cardinality is bounded: an operation label is the operation's name cut to 64
characters, and each process keeps at most ``MAX_OPERATIONS`` distinct named ones and as many
unnamed ones (``{rootField,...}``); later ones are counted as ``other``. Outcomes are ``ok``
or an error code of ours.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from time import perf_counter

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy.pool import Pool

from db.database import Database

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATIONS = 100
MAX_LABEL_LENGTH = 64
OTHER = "other"
OK = "ok"
POOL_SAMPLE_INTERVAL_S = 5.0
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "o2o_requests",
    "Requests (GraphQL operations, and other HTTP routes as http:<route>) by outcome.",
    ["operation", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "o2o_request_duration_seconds",
    "Time to answer a request, by operation and outcome.",
    ["operation", "outcome"],
    buckets=LATENCY_BUCKETS,
)
ERRORS = Counter("o2o_errors", "Errors answered, by extensions.code.", ["code"])
RATE_LIMIT_REJECTIONS = Counter(
    "o2o_rate_limit_rejections",
    "Requests refused because a budget ran out, by budget (requests, cost) and caller kind.",
    ["budget", "caller"],
)
SEARCH_SECONDS = Histogram(
    "o2o_search_request_duration_seconds",
    "Time of search-server queries, by call and outcome (ok, error).",
    ["call", "outcome"],
    buckets=LATENCY_BUCKETS,
)
WEBSOCKETS = Gauge(
    "o2o_websocket_connections",
    "Open GraphQL WebSocket connections (subscriptions protocol).",
    multiprocess_mode="livesum",
)
POOL_IN_USE = Gauge(
    "o2o_db_pool_in_use",
    "PostgreSQL connections checked out of the pool.",
    multiprocess_mode="livesum",
)
POOL_WAITING = Gauge(
    "o2o_db_pool_waiting",
    "Callers waiting for a pooled PostgreSQL connection.",
    multiprocess_mode="livesum",
)
POOL_OVERFLOW = Gauge(
    "o2o_db_pool_overflow",
    "Connections open beyond the pool size (negative: pool not yet filled).",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge("o2o_db_pool_size", "Configured pool size.", multiprocess_mode="livesum")
DRIVER_POOL_OPEN = Gauge(
    "o2o_db_driver_pool_open",
    "Open connections of the compiled operations' driver pool.",
    multiprocess_mode="livesum",
)
DRIVER_POOL_IN_USE = Gauge(
    "o2o_db_driver_pool_in_use",
    "Driver pool connections lent out.",
    multiprocess_mode="livesum",
)
DRIVER_POOL_WAITING = Gauge(
    "o2o_db_driver_pool_waiting",
    "Callers waiting for a driver pool connection.",
    multiprocess_mode="livesum",
)


class RequestMetrics:
    """Counts and times requests; caches label children so a request costs one dict lookup."""

    def __init__(self, max_operations: int = MAX_OPERATIONS) -> None:
        self.max_operations = max_operations
        self._operations: set[str] = set()
        self._unnamed: set[str] = set()
        self._children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}

    def observe(self, operation: str, outcome: str, seconds: float) -> None:
        children = self._children.get((operation, outcome))
        if children is None:
            children = self._add(operation, outcome)
        children[0].inc()
        children[1].observe(seconds)

    def label(self, operation: str) -> str:
        """The bounded label of an operation name. Unnamed operations (``{rootField,...}``)
        have a budget of their own, so ad-hoc queries never crowd out named ones."""
        name = operation[:MAX_LABEL_LENGTH]
        seen = self._unnamed if name.startswith("{") else self._operations
        if name in seen:
            return name
        if len(seen) < self.max_operations:
            seen.add(name)
            return name
        return OTHER

    def _add(self, operation: str, outcome: str) -> tuple[Counter, Histogram]:
        label = self.label(operation)
        children = (
            REQUESTS.labels(label, outcome),
            REQUEST_SECONDS.labels(label, outcome),
        )
        if len(self._children) < 4 * self.max_operations:
            self._children[(operation, outcome)] = children
        return children


REQUEST_METRICS = RequestMetrics()


def count_errors(codes: Iterable[str]) -> None:
    for code in codes:
        ERRORS.labels(code).inc()


def count_rejection(budget: str, caller: str) -> None:
    RATE_LIMIT_REJECTIONS.labels(budget, caller).inc()


class SearchTimer:
    """The search index's observer: one histogram sample per search-server query."""

    def __call__(self, call: str, seconds: float, ok: bool) -> None:
        SEARCH_SECONDS.labels(call, OK if ok else "error").observe(seconds)


def pool_waiting(pool: Pool) -> int:
    """Callers blocked on the pool's queue (SQLAlchemy's asyncio queue; 0 if not readable).

    Reads ``asyncio.Queue`` internals: SQLAlchemy exposes no waiter count."""
    queue = getattr(pool, "_pool", None)
    inner = getattr(queue, "__dict__", {}).get("_queue")  # created on first use
    getters = getattr(inner, "_getters", ())
    return sum(1 for waiter in getters if not waiter.done())


def sample_pool(database: Database) -> None:
    stats = database.drivers.get_stats()
    DRIVER_POOL_OPEN.set(stats.get("pool_size", 0))
    DRIVER_POOL_IN_USE.set(stats.get("pool_size", 0) - stats.get("pool_available", 0))
    DRIVER_POOL_WAITING.set(stats.get("requests_waiting", 0))
    pool = database.engine.pool
    checkedout = getattr(pool, "checkedout", None)
    if checkedout is None:  # a pool without a queue (NullPool): nothing to report
        return
    POOL_IN_USE.set(checkedout())
    POOL_OVERFLOW.set(pool.overflow())  # type: ignore[attr-defined]
    POOL_SIZE.set(pool.size())  # type: ignore[attr-defined]
    POOL_WAITING.set(pool_waiting(pool))


async def sample_pool_forever(database: Database, interval_s: float) -> None:
    """Multi-worker mode: each worker writes its pool state for whichever worker is scraped."""
    while True:
        sample_pool(database)
        await asyncio.sleep(interval_s)


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def exposition() -> bytes:
    """The Prometheus text of this process, or of all workers in multi-process mode."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def elapsed(started: float) -> float:
    return perf_counter() - started
