"""The services the O2O loop needs, built once per process by the gateway."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from commerce.errors import UnavailableError
from commerce.payments.provider import PaymentProvider
from geo.db import Database


class PaymentsUnavailableError(UnavailableError):
    """No provider is configured under that name (e.g. the sandbox in production)."""


@dataclass(frozen=True, slots=True)
class LoopConfig:
    hold_seconds: int = 15 * 60
    reversal_window_seconds: int = 10 * 60
    max_quantity: int = 20
    lock_timeout_ms: int = 3000
    voucher_key: bytes = b"local-development-voucher-key"
    default_provider: str = "sandbox"
    payment_grace_seconds: int = 5 * 60
    refund_retry_after_seconds: int = 2 * 60


@dataclass(frozen=True, slots=True)
class Loop:
    database: Database
    providers: Mapping[str, PaymentProvider]
    config: LoopConfig

    def provider(self, name: str | None = None) -> PaymentProvider:
        chosen = name or self.config.default_provider
        provider = self.providers.get(chosen)
        if provider is None:
            raise PaymentsUnavailableError(f"payments through {chosen!r} are not configured")
        return provider
