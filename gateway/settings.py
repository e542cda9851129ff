"""The one settings object, read from the environment (see README for every variable)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/o2o"


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
    search_sync: bool = True  # run the outbox publisher inside each gateway process
    search_sync_interval_s: float = Field(default=1.0, gt=0, le=300)
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout_s: float = Field(default=0.5, gt=0, le=10)
    jwt_secret: SecretStr = SecretStr("local-development-secret-change-me")
    o2o_env: Literal["development", "test", "production"] = "development"

    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    db_statement_timeout_ms: int = Field(default=5000, ge=100, le=600_000)
    max_query_depth: int = Field(default=10, ge=2, le=50)
    # Partner keys and limits (counters in Redis; see README "Partner keys").
    max_query_cost: int = Field(default=10_000, ge=10, le=10_000_000)
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    rate_limit_prefix: str = Field(default="o2o:limits", pattern=r"^[A-Za-z0-9:_-]{1,60}$")
    anonymous_rate_per_minute: int = Field(default=600, ge=0, le=1_000_000)  # per IP; 0: off
    log_level: str = "INFO"

    # Auth: HS256 with jwt_secret; RS256 too when a JWKS URL is configured.
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None

    # Orders: bookings, payments, vouchers, redemptions.
    booking_hold_seconds: int = Field(default=15 * 60, ge=10, le=24 * 3600)
    hold_sweep_interval_seconds: float = Field(default=30.0, ge=0.05, le=3600)
    payment_grace_seconds: int = Field(default=5 * 60, ge=0, le=24 * 3600)
    refund_retry_after_seconds: int = Field(default=2 * 60, ge=0, le=24 * 3600)
    reversal_window_seconds: int = Field(default=10 * 60, ge=0, le=7 * 24 * 3600)
    max_booking_quantity: int = Field(default=20, ge=1, le=100)
    booking_lock_timeout_ms: int = Field(default=3000, ge=10, le=60_000)
    voucher_secret: SecretStr = SecretStr("local-development-voucher-secret-change-me")
    payment_provider: Literal["sandbox"] = "sandbox"
    sandbox_webhook_secret: SecretStr = SecretStr("local-development-webhook-secret")
    # The sandbox accepts test cards for free: never in production unless asked for.
    sandbox_payments_in_production: bool = False

    @property
    def is_production(self) -> bool:
        return self.o2o_env == "production"
