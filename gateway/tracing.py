"""OpenTelemetry traces: HTTP (ASGI), the GraphQL operation, SQL and search-server requests.

Installed only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (spans leave over OTLP/HTTP
protobuf); otherwise nothing is wrapped or patched and requests pay nothing. Every span
started while a request is served carries its request id (``o2o.request_id``).

Tracing uses standard instrumentations: ``opentelemetry-instrumentation-asgi`` for HTTP,
``-sqlalchemy`` on the engine, ``-httpx`` on the search client's connections. The GraphQL
operation is one span (see :class:`gateway.observe.OperationObserver`), not one per resolver.
"""

from __future__ import annotations

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from starlette.types import ASGIApp

from db.database import Database
from gateway.record import REQUEST_ID_ATTRIBUTE, current_request_id
from gateway.settings import Settings
from search.index import SearchIndex


class RequestIdSpanProcessor(SpanProcessor):
    """Stamps the current request's id on every span started while serving it."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        request_id = current_request_id()
        if request_id is not None:
            span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)

    def on_end(self, span: ReadableSpan) -> None:
        return None


def traces_endpoint(base: str) -> str:
    """OTLP/HTTP: the traces path under the configured base endpoint."""
    return base.rstrip("/") + "/v1/traces"


def provider_from(settings: Settings) -> TracerProvider | None:
    """The exporting tracer provider, or ``None`` when no OTLP endpoint is configured."""
    if not settings.otel_exporter_otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.otel_service_name})
    )
    provider.add_span_processor(RequestIdSpanProcessor())
    exporter = OTLPSpanExporter(endpoint=traces_endpoint(settings.otel_exporter_otlp_endpoint))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    # global as well: the Elasticsearch client's own spans use the global provider
    trace.set_tracer_provider(provider)
    return provider


def instrument_database(database: Database, provider: TracerProvider) -> None:
    """SQL spans on this engine (one instrumented engine per process: the last one wins) and
    on the database's driver connections."""
    instrumentor = SQLAlchemyInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    # Its declared range stops below SQLAlchemy 2.1, whose engine events it uses are unchanged
    # (the trace test checks the SQL spans).
    instrumentor.instrument(
        engine=database.engine.sync_engine, tracer_provider=provider, skip_dep_check=True
    )
    database.driver_tracer = provider.get_tracer("o2o.db")  # the bare psycopg connections


def instrument_search(search: SearchIndex, provider: TracerProvider) -> None:
    """Client spans on every httpx connection pool of the Elasticsearch transport."""
    for node in search.client.transport.node_pool.all():
        client = getattr(node, "client", None)
        if client is not None:
            HTTPXClientInstrumentor.instrument_client(client, tracer_provider=provider)


def traced_app(app: ASGIApp, provider: TracerProvider) -> ASGIApp:
    """The HTTP server span around the app (no extra spans per ``send``/``receive``)."""
    return OpenTelemetryMiddleware(app, tracer_provider=provider, exclude_spans=["receive", "send"])
