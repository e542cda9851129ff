"""The Starlette application factory: routes, middleware, and the lifespan that runs the
background tasks (outbox publisher, hold sweeper, live-event listener, funnel flusher) and
closes the pools on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute
from strawberry.schema.base import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from commerce.discovery.indexing import run_publisher
from commerce.discovery.map_layer import refresh_forever
from commerce.insights.funnel import Funnel, FunnelConfig
from commerce.live.hub import EventHub, LiveConfig
from commerce.live.listener import ListenerState, run_listener
from commerce.orders.payments.provider import PaymentProvider
from commerce.orders.payments.sandbox import SandboxProvider
from commerce.orders.payments.stripe import StripeProvider
from commerce.orders.services import OrderConfig, OrderServices
from commerce.orders.sweeper import sweep_forever
from commerce.partners.keys import KeyCache
from db.database import Database, DatabaseConfig
from gateway.auth import Authenticator
from gateway.cors import cors_middleware
from gateway.graphql_app import O2OGraphQL
from gateway.health import healthz, metrics, readyz
from gateway.hot import GatewayApp
from gateway.limits import Limiter, limiter_from
from gateway.live_ws import LiveAdmission
from gateway.logs import configure_logging
from gateway.map_page import map_routes
from gateway.metrics import (
    POOL_SAMPLE_INTERVAL_S,
    SearchTimer,
    multiprocess_mode,
    sample_pool_forever,
)
from gateway.middleware import RequestIdMiddleware
from gateway.observe import observer_factory
from gateway.partners import PartnerGate
from gateway.persisted import PersistedQueries
from gateway.playground import playground_routes
from gateway.settings import Settings, check_settings
from gateway.statements import statement_routes
from gateway.tiles import tile_routes
from gateway.webhooks import SANDBOX_PREFIX, webhook_routes
from schema.build import build_schema
from schema.compiled import Compiler, Limits
from schema.compiled_search import compile_search_plan
from schema.federation import build_subgraph_schema
from search.client import SearchConfig, make_client
from search.index import SearchIndex, SearchObserver

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger("o2o.app")


def database_from(settings: Settings) -> Database:
    return Database(
        DatabaseConfig(
            url=settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            statement_timeout_ms=settings.db_statement_timeout_ms,
            driver_pool_size=settings.db_driver_pool_size,
        )
    )


def search_index_from(
    settings: Settings, observer: SearchObserver | None = None, *, traced: bool = False
) -> SearchIndex:
    """The index; ``traced``: on httpx, whose instrumentation makes the search spans."""
    config = SearchConfig(
        url=settings.elasticsearch_url,
        index_prefix=settings.search_index_prefix,
        plain_json=settings.elasticsearch_plain_json,
        request_timeout_s=settings.search_timeout_s,
        transport="httpx" if traced else settings.search_transport,
    )
    return SearchIndex(
        make_client(config),
        f"{config.index_prefix}-deals",
        observer=observer,
        search_timeout_s=config.request_timeout_s,
        traced=traced,
    )


def order_services_from(settings: Settings) -> OrderServices:
    """What the order operations need besides the database: the configured payment
    providers and the rules' settings."""
    sandbox = SandboxProvider(
        settings.sandbox_webhook_secret.get_secret_value().encode(), action_url=SANDBOX_PREFIX
    )
    config = OrderConfig(
        hold_seconds=settings.booking_hold_seconds,
        reversal_window_seconds=settings.reversal_window_seconds,
        max_quantity=settings.max_booking_quantity,
        lock_timeout_ms=settings.booking_lock_timeout_ms,
        voucher_key=settings.voucher_secret.get_secret_value().encode(),
        default_provider=settings.payment_provider,
        payment_grace_seconds=settings.payment_grace_seconds,
        refund_retry_after_seconds=settings.refund_retry_after_seconds,
        public_base_url=settings.public_base_url,
    )
    sandbox_allowed = not settings.is_production or settings.sandbox_payments_in_production
    providers: dict[str, PaymentProvider] = {sandbox.name: sandbox} if sandbox_allowed else {}
    stripe = stripe_provider_from(settings)
    if stripe is not None:
        providers[stripe.name] = stripe
    return OrderServices(providers=providers, config=config)


def stripe_provider_from(settings: Settings) -> StripeProvider | None:
    """The Stripe adapter when its key and webhook secret are set (PAYMENT_PROVIDER=stripe
    without them leaves payments unavailable: ``SERVICE_UNAVAILABLE``)."""
    key, secret = settings.stripe_api_key, settings.stripe_webhook_secret
    if key is None or secret is None:
        return None
    return StripeProvider(
        key.get_secret_value(),
        secret.get_secret_value(),
        api_base=settings.stripe_api_base,
        timeout_s=settings.stripe_timeout_s,
    )


def limiter_of(settings: Settings) -> Limiter:
    return limiter_from(
        settings.redis_url,
        settings.rate_limit_prefix,
        settings.rate_limit_window_seconds,
        settings.redis_timeout_s,
        settings.rate_limit_local_share,
    )


def persisted_of(settings: Settings, limiter: Limiter, *, trusted_only: bool) -> PersistedQueries:
    """The persisted-operation registry, in the limiter's Redis."""
    return PersistedQueries(
        limiter.redis,
        settings.persisted_query_prefix,
        settings.persisted_query_ttl_seconds,
        trusted_only=trusted_only,
    )


def tracer_provider_of(settings: Settings) -> TracerProvider | None:
    """An exporting provider when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (imports nothing
    of OpenTelemetry's SDK otherwise)."""
    if not settings.otel_exporter_otlp_endpoint:
        return None
    from gateway.tracing import provider_from

    return provider_from(settings)


def create_app(
    settings: Settings | None = None,
    *,
    warm_up: bool = True,
    tracer_provider: TracerProvider | None = None,
) -> Starlette:
    """The gateway; ``tracer_provider`` traces it (default: from the settings, else none)."""
    settings = settings or Settings()
    check_settings(settings)
    database = database_from(settings)
    owned_provider = tracer_provider_of(settings) if tracer_provider is None else None
    provider = tracer_provider or owned_provider
    search = search_index_from(settings, SearchTimer(), traced=provider is not None)
    orders = order_services_from(settings)
    limiter = limiter_of(settings)
    hub, listener = live_hub_from(settings), ListenerState()
    keys = KeyCache(listener.listening.is_set, settings.api_key_cache_seconds)
    gate = PartnerGate(
        database,
        limiter,
        settings.anonymous_rate_per_minute,
        settings.signed_in_rate_per_minute,
        keys=keys if settings.api_key_cache_seconds > 0 else None,
    )
    funnel = funnel_from(settings)
    authenticator = Authenticator(settings)
    admission = LiveAdmission(authenticator, settings.max_ws_connections_per_caller)
    observers = [observer_factory(provider.get_tracer("o2o.graphql") if provider else None)]

    def graphql_on(
        schema: BaseSchema,
        *,
        playground: bool,
        persisted: PersistedQueries,
        compiler: Compiler | None = None,
    ) -> O2OGraphQL:
        return O2OGraphQL(
            schema,
            database=database,
            search=search,
            authenticator=authenticator,
            services=orders,
            gate=gate,
            live=hub,
            funnel=funnel,
            admission=admission,
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_timeout_s),
            partners_only_tools=settings.is_production,
            deadline_s=settings.request_deadline_s,
            connections_per_request=settings.db_connections_per_request,
            persisted=persisted,
            compiler=compiler,
            graphql_ide="graphiql" if playground else None,
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )

    limits = {"max_depth": settings.max_query_depth, "max_cost": settings.max_query_cost}
    schema = build_schema(**limits, observers=observers)
    persisted = persisted_of(settings, limiter, trusted_only=settings.trusted_documents)
    # compiled plans record no spans: with tracing on, every operation runs through Strawberry
    compiler = None
    if settings.compiled_operations and provider is None:
        compiler = Compiler(schema._schema, Limits(**limits), more=(compile_search_plan,))
    graphql = graphql_on(schema, playground=True, persisted=persisted, compiler=compiler)
    # the same API as an Apollo Federation v2 subgraph, for a router (schema/federation.py)
    subgraph = graphql_on(
        build_subgraph_schema(**limits, observers=observers),
        playground=False,
        persisted=persisted_of(settings, limiter, trusted_only=False),
    )

    app = GatewayApp(
        hot={"/graphql": graphql},  # its POST route, served one layer shorter (gateway.hot)
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/graphql/subgraph", subgraph, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            *webhook_routes(sandbox_pages=not settings.is_production),
            *statement_routes(database, authenticator),
            *playground_routes(),
            *tile_routes(),
            *map_routes(),
        ],
        middleware=middleware_of(settings, database, search, provider),
        lifespan=lambda _app: lifespan(
            settings,
            database,
            search,
            orders,
            limiter,
            (hub, listener),
            keys,
            warm_up=warm_up,
            tracing=owned_provider,
            funnel=funnel,
        ),
    )
    app.state.live = hub
    app.state.live_listener = listener
    app.state.database = database
    app.state.search = search
    app.state.settings = settings
    app.state.order_services = orders
    app.state.gate = gate
    app.state.keys = keys
    app.state.funnel = funnel
    app.state.compiler = compiler
    return app


def middleware_of(
    settings: Settings, database: Database, search: SearchIndex, provider: TracerProvider | None
) -> list[Middleware]:
    """CORS outermost (preflights end there), then request ids and, when tracing, the
    HTTP span; tracing also instruments the engine and the search client."""
    middleware = [*cors_middleware(settings), Middleware(RequestIdMiddleware)]
    if provider is not None:
        from gateway.tracing import instrument_database, instrument_search, traced_app

        instrument_database(database, provider)
        instrument_search(search, provider)
        middleware.append(Middleware(traced_app, provider=provider))
    return middleware


@asynccontextmanager
async def lifespan(
    settings: Settings,
    database: Database,
    search: SearchIndex,
    orders: OrderServices,
    limiter: Limiter,
    live: tuple[EventHub, ListenerState],
    keys: KeyCache,
    *,
    warm_up: bool,
    tracing: TracerProvider | None = None,
    funnel: Funnel | None = None,
) -> AsyncIterator[None]:
    """While the app serves: the outbox publisher (if ``search_sync``), the hold sweeper, the
    live-event listener, the map layer's refresher (if enabled) and, with several workers,
    the pool sampler run; on shutdown they stop and every client, pool and the app's own
    tracer provider is closed."""
    if warm_up:
        await warm_up_pool(database)
    stop = asyncio.Event()
    publisher = start_publisher(settings, database, search, stop)
    interval = settings.hold_sweep_interval_seconds
    background = [asyncio.create_task(sweep_forever(database, orders, interval))]
    background.append(await start_listener(settings, *live, keys=keys))
    if settings.map_layer_refresh_seconds > 0:
        refresh, horizon = settings.map_layer_refresh_seconds, settings.map_layer_horizon_seconds
        background.append(asyncio.create_task(refresh_forever(database, refresh, horizon)))
    if multiprocess_mode():  # the scraped worker reads every worker's pool from files
        background.append(
            asyncio.create_task(sample_pool_forever(database, POOL_SAMPLE_INTERVAL_S))
        )
    counting = None if funnel is None else asyncio.create_task(funnel.run(database, stop))
    yield
    stop.set()
    if counting is not None:  # its last flush, before the pool closes
        await counting
    for task in background:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if publisher is not None:
        await publisher
    await search.client.close()
    await limiter.close()
    for provider in orders.providers.values():
        if isinstance(provider, StripeProvider):
            await provider.close()
    await database.dispose()
    if tracing is not None:
        tracing.shutdown()


async def warm_up_pool(database: Database) -> None:
    try:
        await database.warm_up()
    except Exception as error:  # start anyway: /readyz reports it until it recovers
        log.warning("could not warm up the database pool: %s", error)


def start_publisher(
    settings: Settings, database: Database, search: SearchIndex, stop: asyncio.Event
) -> asyncio.Task[None] | None:
    """The search outbox publisher, when this process publishes (``search_sync``)."""
    if not settings.search_sync:
        return None
    interval = settings.search_sync_interval_s
    return asyncio.create_task(run_publisher(database, search, interval, stop))


def funnel_from(settings: Settings) -> Funnel:
    """The process's funnel counters; the attribution key derives from the voucher secret."""
    config = FunnelConfig(
        enabled=settings.funnel_enabled,
        flush_interval_s=settings.funnel_flush_interval_s,
        max_keys=settings.funnel_max_keys,
    )
    return Funnel(config, settings.voucher_secret.get_secret_value().encode())


def live_hub_from(settings: Settings) -> EventHub:
    return EventHub(
        LiveConfig(
            queue_size=settings.live_queue_size,
            max_subscriptions=settings.live_max_subscriptions,
            deal_stock_interval_s=settings.live_deal_stock_interval_s,
        )
    )


async def start_listener(
    settings: Settings,
    hub: EventHub,
    state: ListenerState,
    wait_s: float = 5.0,
    *,
    keys: KeyCache | None = None,
) -> asyncio.Task[None]:
    """The process's one LISTEN connection (reconnecting with backoff); waits up to
    ``wait_s`` for it to listen, so events right after start-up are not missed, but starts
    anyway when PostgreSQL is down (it keeps trying)."""
    task = asyncio.create_task(run_listener(settings.database_url, hub, state, keys=keys))
    try:
        await asyncio.wait_for(state.listening.wait(), timeout=wait_s)
    except TimeoutError:
        log.warning("the live-event listener is not listening yet; it keeps trying")
    return task


def create_app_from_env() -> Starlette:
    """Factory for ``uvicorn --factory`` (each worker process reads the environment)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.effective_log_format)
    return create_app(settings)
