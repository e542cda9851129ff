"""What the order operations need besides a ``Database``: payment providers and the rules'
settings, built once per process by the gateway."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from commerce.errors import UnavailableError
from commerce.orders.payments.provider import PaymentProvider
from commerce.orders.vouchers import VoucherView, view_of
from db.order_rows import VoucherRow


class PaymentsUnavailableError(UnavailableError):
    """No provider is configured under that name (e.g. the sandbox in production)."""


@dataclass(frozen=True, slots=True)
class OrderConfig:
    hold_seconds: int = 15 * 60
    reversal_window_seconds: int = 10 * 60
    max_quantity: int = 20
    lock_timeout_ms: int = 3000
    voucher_key: bytes = b"local-development-voucher-key"
    default_provider: str = "sandbox"
    payment_grace_seconds: int = 5 * 60
    refund_retry_after_seconds: int = 2 * 60
    public_base_url: str | None = None  # absolute links (nextActionUrl); else the request's


@dataclass(frozen=True, slots=True)
class OrderServices:
    providers: Mapping[str, PaymentProvider]
    config: OrderConfig

    def provider(self, name: str | None = None) -> PaymentProvider:
        chosen = name or self.config.default_provider
        provider = self.providers.get(chosen)
        if provider is None:
            raise PaymentsUnavailableError(f"payments through {chosen!r} are not configured")
        return provider

    def voucher_view(self, row: VoucherRow) -> VoucherView:
        """The voucher with its code, derived here so the key stays in ``commerce/``."""
        return view_of(row, self.config.voucher_key)
