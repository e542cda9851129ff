"""The one settings object, read from the environment (see README for every variable)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/o2o"
DEVELOPMENT_JWT_SECRET = "local-development-secret-change-me"
DEVELOPMENT_VOUCHER_SECRET = "local-development-voucher-secret-change-me"
DEVELOPMENT_WEBHOOK_SECRET = "local-development-webhook-secret"
DEVELOPMENT_SECRETS = frozenset(
    {DEVELOPMENT_JWT_SECRET, DEVELOPMENT_VOUCHER_SECRET, DEVELOPMENT_WEBHOOK_SECRET}
)
MIN_SECRET_BYTES = 32


class UnsafeSettingsError(ValueError):
    """The settings would run an unsafe gateway; the message is one line naming the fix."""


class Settings(BaseSettings):
    """Configuration of one gateway process; every field maps to an upper-case env variable."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str = LOCAL_DATABASE_URL
    elasticsearch_url: str = "http://127.0.0.1:9200"
    # plain application/json instead of the 8.x compatibility media type (for OpenSearch-
    # compatible servers such as the local osmem-server; a real Elasticsearch needs False)
    elasticsearch_plain_json: bool = False
    search_index_prefix: str = Field(default="o2o", pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")
    search_timeout_s: float = Field(default=2.0, gt=0, le=60)
    # the search client's HTTP: our lean asyncio node, or elasticsearch-py's aiohttp one
    # (search/stream_node.py); a traced gateway always uses httpx for its spans
    search_transport: Literal["streams", "aiohttp"] = "streams"
    search_sync: bool = True  # run the outbox publisher inside each gateway process
    search_sync_interval_s: float = Field(default=1.0, gt=0, le=300)
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout_s: float = Field(default=0.5, gt=0, le=10)
    jwt_secret: SecretStr = SecretStr(DEVELOPMENT_JWT_SECRET)
    o2o_env: Literal["development", "test", "production"] = "development"

    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    db_statement_timeout_ms: int = Field(default=5000, ge=100, le=600_000)
    # bare psycopg connections of the compiled operations, beside the pool (None: DB_POOL_SIZE)
    db_driver_pool_size: int | None = Field(default=None, ge=1, le=200)
    # pooled connections one GraphQL request (or WebSocket connection) may hold at once
    db_connections_per_request: int = Field(default=2, ge=1, le=50)
    max_query_depth: int = Field(default=10, ge=2, le=50)
    # An HTTP GraphQL request answers DEADLINE_EXCEEDED after this long, never hangs.
    request_deadline_s: float = Field(default=15.0, gt=0, le=600)
    # Partner keys and limits (counters in Redis; see README "Partner keys").
    max_query_cost: int = Field(default=10_000, ge=10, le=10_000_000)
    # Persisted operations (gateway/persisted.py): automatic ones stay this long in Redis.
    persisted_query_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60, le=365 * 24 * 3600)
    persisted_query_prefix: str = Field(default="o2o:pq", pattern=r"^[A-Za-z0-9:_-]{1,60}$")
    # Only registered operations (`o2o persisted add`) on /graphql: for production partners.
    trusted_documents: bool = False
    # Known persisted nearby operations run as compiled plans (schema/compiled.py).
    compiled_operations: bool = True
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    # Found partner keys are kept this long per process (commerce/partners/keys.py KeyCache;
    # a change or revocation is heard at once through LISTEN); 0: one lookup per request.
    api_key_cache_seconds: float = Field(default=30.0, ge=0, le=3600)
    # Each process reserves 1/N of a budget (of 200 or more) at a time and spends it locally
    # (gateway/limits.py); 0: every charge is one Redis round trip.
    rate_limit_local_share: int = Field(default=50, ge=0, le=10_000)
    rate_limit_prefix: str = Field(default="o2o:limits", pattern=r"^[A-Za-z0-9:_-]{1,60}$")
    anonymous_rate_per_minute: int = Field(default=600, ge=0, le=1_000_000)  # per IP; 0: off
    # per token subject (signed in without a key); 0: off
    signed_in_rate_per_minute: int = Field(default=1200, ge=0, le=1_000_000)
    log_level: str = "INFO"
    # "json": one JSON object per line; "console": readable lines. Default: json in production.
    log_format: Literal["json", "console"] | None = None
    # OpenTelemetry traces (OTLP over HTTP/protobuf) go here when set; unset: no tracing at all.
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str = "o2o-gateway"
    # Browser origins allowed to call the API (comma-separated; "*" for any, without
    # credentials). Empty: no CORS headers, so only same-origin pages can call it.
    cors_allow_origins: str = ""
    cors_allow_credentials: bool = False

    # Auth: HS256 with jwt_secret; RS256 too when a JWKS URL is configured.
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None

    # The pre-aggregated map layer (geo/layer.py): rebuilt every interval by one process
    # (advisory lock); 0 turns building off (maps then answer live, or from a layer built by
    # `o2o map-layer`). A layer answers for `horizon` after its build.
    map_layer_refresh_seconds: float = Field(default=300.0, ge=0, le=24 * 3600)
    map_layer_horizon_seconds: float = Field(default=900.0, ge=60, le=7 * 24 * 3600)

    # Orders: bookings, payments, vouchers, redemptions.
    booking_hold_seconds: int = Field(default=15 * 60, ge=10, le=24 * 3600)
    hold_sweep_interval_seconds: float = Field(default=30.0, ge=0.05, le=3600)
    payment_grace_seconds: int = Field(default=5 * 60, ge=0, le=24 * 3600)
    refund_retry_after_seconds: int = Field(default=2 * 60, ge=0, le=24 * 3600)
    reversal_window_seconds: int = Field(default=10 * 60, ge=0, le=7 * 24 * 3600)
    max_booking_quantity: int = Field(default=20, ge=1, le=100)
    booking_lock_timeout_ms: int = Field(default=3000, ge=10, le=60_000)
    voucher_secret: SecretStr = SecretStr(DEVELOPMENT_VOUCHER_SECRET)
    payment_provider: Literal["sandbox", "stripe"] = "sandbox"
    sandbox_webhook_secret: SecretStr = SecretStr(DEVELOPMENT_WEBHOOK_SECRET)
    # The sandbox accepts test cards for free: never in production unless asked for.
    sandbox_payments_in_production: bool = False
    # Stripe (PAYMENT_PROVIDER=stripe): secret key, API base (None: Stripe's own; a test
    # server such as localstripe otherwise) and the webhook endpoint's signing secret.
    stripe_api_key: SecretStr | None = None
    stripe_api_base: str | None = Field(default=None, pattern=r"^https?://[^\s]{1,500}$")
    stripe_webhook_secret: SecretStr | None = None
    stripe_timeout_s: float = Field(default=20.0, gt=0, le=120)
    # The gateway's public address for absolute links (nextActionUrl); None: the request's.
    public_base_url: str | None = Field(
        default=None, pattern=r"^https?://[^\s/]{1,200}(/[^\s]{0,300})?$"
    )

    # Live events (subscriptions over graphql-transport-ws; see ARCHITECTURE.md "Live events").
    max_subscriptions_per_connection: int = Field(default=20, ge=1, le=1000)
    # per caller (token subject, else IP) and per process: N processes allow N times this
    max_ws_connections_per_caller: int = Field(default=10, ge=1, le=10_000)
    live_queue_size: int = Field(default=100, ge=1, le=100_000)  # events queued per subscription
    live_max_subscriptions: int = Field(default=10_000, ge=1, le=1_000_000)  # per process
    live_deal_stock_interval_s: float = Field(default=1.0, ge=0.05, le=60)
    ws_connection_init_timeout_s: float = Field(default=10.0, ge=0.5, le=300)

    # The live funnel (Merchant.insights): impressions and detail views are counted in memory
    # and flushed this often (a crash loses at most one interval); off: no counting, no
    # attribution tokens.
    funnel_enabled: bool = True
    funnel_flush_interval_s: float = Field(default=1.0, ge=0.05, le=2.0)
    funnel_max_keys: int = Field(default=200_000, ge=100, le=10_000_000)

    @property
    def is_production(self) -> bool:
        return self.o2o_env == "production"

    @property
    def effective_log_format(self) -> Literal["json", "console"]:
        if self.log_format is not None:
            return self.log_format
        return "json" if self.is_production else "console"

    @property
    def cors_origins(self) -> tuple[str, ...]:
        return tuple(
            origin.strip() for origin in self.cors_allow_origins.split(",") if origin.strip()
        )


def unsafe_settings(settings: Settings) -> list[str]:
    """Why these settings must not serve (empty when they may)."""
    problems = []
    if "*" in settings.cors_origins and settings.cors_allow_credentials:
        problems.append("CORS_ALLOW_ORIGINS='*' cannot go with CORS_ALLOW_CREDENTIALS=true")
    if settings.is_production:
        secrets = {"JWT_SECRET": settings.jwt_secret, "VOUCHER_SECRET": settings.voucher_secret}
        if settings.sandbox_payments_in_production:
            secrets["SANDBOX_WEBHOOK_SECRET"] = settings.sandbox_webhook_secret
        for name, secret in secrets.items():
            value = secret.get_secret_value()
            if value in DEVELOPMENT_SECRETS:
                problems.append(f"{name} is the public development default")
            elif len(value.encode()) < MIN_SECRET_BYTES:
                problems.append(f"{name} is shorter than {MIN_SECRET_BYTES} bytes")
    problems += _stripe_problems(settings)
    return problems


MIN_STRIPE_SECRET_LENGTH = 16


def _stripe_problems(settings: Settings) -> list[str]:
    """A production gateway on Stripe needs its secrets (each entry names the variable)."""
    if not settings.is_production or settings.payment_provider != "stripe":
        return []
    problems = []
    for name, secret in (
        ("STRIPE_API_KEY", settings.stripe_api_key),
        ("STRIPE_WEBHOOK_SECRET", settings.stripe_webhook_secret),
    ):
        if secret is None or len(secret.get_secret_value()) < MIN_STRIPE_SECRET_LENGTH:
            problems.append(
                f"{name} is missing or shorter than {MIN_STRIPE_SECRET_LENGTH} characters"
            )
    return problems


def check_settings(settings: Settings) -> None:
    """Refuse to start with unsafe settings: one line, every problem named."""
    problems = unsafe_settings(settings)
    if problems:
        raise UnsafeSettingsError("refusing to start: " + "; ".join(problems))
