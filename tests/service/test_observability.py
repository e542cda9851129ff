"""Observability: JSON access lines, Prometheus metrics (one and several worker processes)
and OpenTelemetry traces of HTTP, the GraphQL operation, SQL and search."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from db.database import Database, DatabaseConfig
from gateway.app import create_app, tracer_provider_of
from gateway.auth import mint_token
from gateway.logs import configure_logging
from gateway.metrics import RequestMetrics, sample_pool
from gateway.settings import Settings
from gateway.tracing import RequestIdSpanProcessor
from tests.conftest import RunningServer, serve_in_thread
from tests.partners.fixtures import fresh_window

ROOT = Path(__file__).resolve().parents[2]
SEARCH = """query Search($q: String!) {
  searchDeals(query: $q, first: 3) { edges { node { title merchant { name } } } }
}"""
BAD_NEARBY = "query Near { nearbyDeals(near: {lat: 91, lng: 0}) { edges { cursor } } }"


class LogCapture:
    """Every line the root handler writes, as parsed JSON objects."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]

    def of(self, request_id: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("request_id") == request_id]

    async def access(self, request_id: str, event: str = "request") -> dict[str, Any]:
        """The access line of a request (written just after the answer left)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            found = [line for line in self.of(request_id) if line["event"] == event]
            if found:
                assert len(found) == 1, found
                return found[0]
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {event} line for {request_id}: {self.lines()[-5:]}")


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    capture = LogCapture()
    configure_logging("INFO", "json", stream=capture.stream)
    yield capture
    configure_logging("WARNING", "json")


def metric(text_body: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text_body):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


async def scrape(http: httpx.AsyncClient) -> str:
    response = await http.get("/metrics")
    assert response.status_code == 200
    return response.text


async def post(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )


async def test_one_json_access_line_per_request(
    client: httpx.AsyncClient, logs: LogCapture, settings: Settings
) -> None:
    token = mint_token(settings.jwt_secret.get_secret_value(), "user-obs", ["customer"])
    signed_in = {"Authorization": f"Bearer {token}"}
    named = await post(client, "query Cats { categories { slug } }", headers=signed_in)
    line = await logs.access(named.headers["x-request-id"])
    assert line["logger"] == "o2o.access" and line["level"] == "info"
    assert line["timestamp"].endswith("Z")
    assert {k: line[k] for k in ("method", "path", "status", "operation", "operation_type")} == {
        "method": "POST",
        "path": "/graphql",
        "status": 200,
        "operation": "Cats",
        "operation_type": "query",
    }
    assert line["caller"] == "signed_in" and line["cost"] == 1 and line["outcome"] == "ok"
    assert line["errors"] is None and 0 < line["duration_ms"] < 10_000

    unnamed = await client.get("/graphql", params={"query": "{ categories { slug } }"})
    line = await logs.access(unnamed.headers["x-request-id"])
    assert line["operation"] == "{categories}" and line["caller"] == "anonymous"
    assert line["method"] == "GET" and line["operation_type"] == "query"

    health = await client.get("/healthz", headers={"X-Request-ID": "obs-health-1"})
    assert health.headers["x-request-id"] == "obs-health-1"
    line = await logs.access("obs-health-1")
    assert line["path"] == "/healthz" and line["operation"] is None and line["status"] == 200


async def test_client_errors_are_coded_lines_without_tracebacks(
    client: httpx.AsyncClient, logs: LogCapture
) -> None:
    cases = {
        BAD_NEARBY: "BAD_USER_INPUT",
        "{ categories { nope } }": "GRAPHQL_VALIDATION_FAILED",
        "{ categories { slug }": "GRAPHQL_PARSE_FAILED",
    }
    for query, code in cases.items():
        response = await post(client, query)
        request_id = response.headers["x-request-id"]
        line = await logs.access(request_id)
        assert line["outcome"] == code and line["errors"] == [code], line
        assert all("exception" not in logged for logged in logs.of(request_id))
    bad_json = await client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    line = await logs.access(bad_json.headers["x-request-id"])
    assert line["status"] == 400 and line["outcome"] == "BAD_REQUEST"
    assert "Traceback" not in logs.stream.getvalue()


async def test_unexpected_errors_keep_traceback_and_request_id(
    dead_database_server: str, logs: LogCapture
) -> None:
    async with httpx.AsyncClient(base_url=dead_database_server, timeout=30) as http:
        response = await post(
            http, "{ categories { slug } }", headers={"X-Request-ID": "obs-boom-1"}
        )
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    access = await logs.access("obs-boom-1")
    assert access["outcome"] == "INTERNAL_SERVER_ERROR"
    (failure,) = [line for line in logs.of("obs-boom-1") if line["logger"] == "o2o.graphql"]
    assert failure["level"] == "error"
    assert "Traceback" in failure["exception"] and "psycopg" in failure["exception"]


async def test_metrics_count_requests_errors_pool_and_search(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    for _ in range(3):
        assert (await post(client, "query ObsCats { categories { slug } }")).status_code == 200
    await post(client, BAD_NEARBY)
    found = await post(client, SEARCH, {"q": "coffee"})
    assert "errors" not in found.json(), found.text
    after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return (metric(after, name, **labels) or 0) - (metric(before, name, **labels) or 0)

    assert delta("o2o_requests_total", operation="ObsCats", outcome="ok") == 3
    assert metric(after, "o2o_request_duration_seconds_count", operation="ObsCats", outcome="ok")
    assert delta("o2o_requests_total", operation="Near", outcome="BAD_USER_INPUT") == 1
    assert delta("o2o_errors_total", code="BAD_USER_INPUT") == 1
    assert delta("o2o_search_request_duration_seconds_count", call="search_deals", outcome="ok")
    assert delta("o2o_requests_total", operation="http:metrics", outcome="ok") == 1
    assert metric(after, "o2o_db_pool_size") == 5  # the test gateways' pool
    assert metric(after, "o2o_db_pool_in_use") is not None
    assert metric(after, "o2o_db_pool_waiting") == 0
    assert metric(after, "o2o_search_outbox_pending") is not None  # still there
    assert metric(after, "o2o_funnel_pending_counters") is not None
    assert metric(after, "o2o_funnel_flush_failures_total") == 0
    assert metric(after, "o2o_funnel_dropped_total") == 0


async def test_pool_gauges_see_connections_in_use_and_callers_waiting(
    settings: Settings,
) -> None:
    database = Database(DatabaseConfig(url=settings.database_url, pool_size=1, max_overflow=0))
    try:
        async with database.read() as held:
            await held.execute(text("SELECT 1"))
            waiting = asyncio.create_task(database.ping())
            await asyncio.sleep(0.2)
            sample_pool(database)
            assert REGISTRY.get_sample_value("o2o_db_pool_in_use") == 1
            assert REGISTRY.get_sample_value("o2o_db_pool_waiting") == 1
        await waiting
        sample_pool(database)
        assert REGISTRY.get_sample_value("o2o_db_pool_in_use") == 0
        assert REGISTRY.get_sample_value("o2o_db_pool_waiting") == 0
    finally:
        await database.dispose()


async def test_driver_pool_gauges_see_connections_lent_and_callers_waiting(
    settings: Settings,
) -> None:
    database = Database(DatabaseConfig(url=settings.database_url, pool_size=1, max_overflow=0))
    try:
        async with database.driver() as held:
            await held.execute("SELECT 1")

            async def wait_for_one() -> None:
                async with database.driver():
                    pass

            waiting = asyncio.create_task(wait_for_one())
            await asyncio.sleep(0.2)
            sample_pool(database)
            assert REGISTRY.get_sample_value("o2o_db_driver_pool_open") == 1
            assert REGISTRY.get_sample_value("o2o_db_driver_pool_in_use") == 1
            assert REGISTRY.get_sample_value("o2o_db_driver_pool_waiting") == 1
        await waiting
        sample_pool(database)
        assert REGISTRY.get_sample_value("o2o_db_driver_pool_in_use") == 0
        assert REGISTRY.get_sample_value("o2o_db_driver_pool_waiting") == 0
    finally:
        await database.dispose()


async def test_rate_limit_rejections_are_counted_by_budget(
    keys_client: httpx.AsyncClient, logs: LogCapture
) -> None:
    labels = {"budget": "requests", "caller": "anonymous"}
    before = metric(await scrape(keys_client), "o2o_rate_limit_rejections_total", **labels) or 0
    await fresh_window()
    statuses = [(await post(keys_client, "{ categories { slug } }")) for _ in range(7)]
    refused = [r for r in statuses if r.status_code == 429]
    assert refused, [r.status_code for r in statuses]
    after = metric(await scrape(keys_client), "o2o_rate_limit_rejections_total", **labels)
    assert after == before + len(refused)
    line = await logs.access(refused[0].headers["x-request-id"])
    assert line["status"] == 429 and line["outcome"] == "RATE_LIMITED"
    assert line["caller"] == "anonymous"


def test_operation_labels_are_bounded() -> None:
    metrics = RequestMetrics(max_operations=2)
    long_name = "ObsLong" + "x" * 100
    for name in ("ObsBoundA", long_name, "ObsBoundC", "ObsBoundD", "ObsBoundA"):
        metrics.observe(name, "ok", 0.001)

    def count(operation: str) -> float | None:
        labels = {"operation": operation, "outcome": "ok"}
        return REGISTRY.get_sample_value("o2o_requests_total", labels)

    assert count("ObsBoundA") == 2
    assert count(long_name[:64]) == 1 and count(long_name) is None
    assert count("ObsBoundC") is None and count("ObsBoundD") is None
    assert (count("other") or 0) >= 2


def test_metrics_add_up_across_worker_processes(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    worker = (
        "from gateway.metrics import REQUEST_METRICS, WEBSOCKETS, count_errors\n"
        "REQUEST_METRICS.observe('ObsMulti', 'ok', 0.02)\n"
        "count_errors(['BAD_USER_INPUT'])\n"
        "WEBSOCKETS.inc()\n"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", worker], cwd=ROOT, env=env, check=True, timeout=60)
    scraped = subprocess.run(
        [
            sys.executable,
            "-c",
            "from gateway.metrics import exposition; print(exposition().decode())",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    assert metric(scraped, "o2o_requests_total", operation="ObsMulti", outcome="ok") == 2
    assert metric(scraped, "o2o_request_duration_seconds_count", operation="ObsMulti") == 2
    assert metric(scraped, "o2o_errors_total", code="BAD_USER_INPUT") == 2
    assert metric(scraped, "o2o_websocket_connections") == 2


async def test_websocket_operations_have_lines_and_connections_a_gauge(
    server: RunningServer, client: httpx.AsyncClient, logs: LogCapture
) -> None:
    url = server.base_url.replace("http://", "ws://") + "/graphql"
    before = metric(await scrape(client), "o2o_websocket_connections") or 0
    async with websockets.connect(
        url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        additional_headers={"X-Request-ID": "obs-ws-1"},
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": "query WsCats { categories { slug } }"}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        assert json.loads(await ws.recv())["type"] == "next"
        assert metric(await scrape(client), "o2o_websocket_connections") == before + 1
    line = await logs.access("obs-ws-1", "websocket operation")
    assert line["operation"] == "WsCats" and line["operation_type"] == "query"
    assert line["outcome"] == "ok" and line["caller"] == "anonymous"
    await logs.access("obs-ws-1", "websocket closed")


def test_no_tracing_without_an_endpoint(settings: Settings) -> None:
    assert tracer_provider_of(settings) is None
    app = create_app(settings)
    assert [m.cls.__name__ for m in app.user_middleware] == ["RequestIdMiddleware"]  # type: ignore[attr-defined]


@pytest.fixture
def traced() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(RequestIdSpanProcessor())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    SQLAlchemyInstrumentor().uninstrument()
    provider.shutdown()


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    chain = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span)
    return chain


async def test_a_request_is_one_trace_of_http_graphql_sql_and_search(
    settings: Settings, traced: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = traced
    app = create_app(settings, tracer_provider=provider)
    base_url, server, thread = serve_in_thread(app)
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            response = await post(
                http, SEARCH, {"q": "coffee"}, headers={"X-Request-ID": "obs-trace-1"}
            )
        assert response.status_code == 200 and "errors" not in response.json(), response.text
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    spans = [s for s in exporter.get_finished_spans() if s.attributes]
    mine = [
        s for s in spans if s.attributes and s.attributes.get("o2o.request_id") == "obs-trace-1"
    ]
    by_id = {s.context.span_id: s for s in mine if s.context is not None}
    (http_span,) = [s for s in mine if s.kind == SpanKind.SERVER]
    (operation,) = [s for s in mine if s.name == "query Search"]
    assert operation.attributes and operation.attributes["graphql.operation.type"] == "query"
    assert _ancestors(operation, by_id) == [http_span]
    sql = [s for s in mine if s.attributes and s.attributes.get("db.system") == "postgresql"]
    search = [s for s in mine if s.kind == SpanKind.CLIENT and s not in sql]
    assert sql and search, [(s.name, s.kind, dict(s.attributes or {})) for s in mine]
    for child in [*sql, *search]:
        assert operation in _ancestors(child, by_id), child.name
    assert {s.context.trace_id for s in mine if s.context} == {http_span.context.trace_id}


def test_log_format_follows_the_environment_and_console_is_readable() -> None:
    assert Settings(o2o_env="production").effective_log_format == "json"
    assert Settings().effective_log_format == "console"
    assert Settings(log_format="json").effective_log_format == "json"
    stream = io.StringIO()
    configure_logging("INFO", "console", stream=stream)
    try:
        logging.getLogger("o2o.obs-test").warning("readable %s", "line")
    finally:
        configure_logging("WARNING", "json")
    (line,) = stream.getvalue().splitlines()
    assert "readable line" in line and "o2o.obs-test" in line and not line.startswith("{")
