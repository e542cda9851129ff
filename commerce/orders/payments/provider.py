"""The interface a payment provider implements, shaped after Stripe's PaymentIntents.

A provider is called outside database transactions and always with an idempotency key, so
a retry after a timeout or crash returns the first answer instead of charging twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

IntentStatus = Literal["succeeded", "requires_action", "requires_capture", "failed", "canceled"]


@dataclass(frozen=True, slots=True)
class IntentRequest:
    amount: Decimal
    currency: str
    payment_method: str
    idempotency_key: str
    reference: str
    return_url: str | None = None  # where the customer lands after authenticating


@dataclass(frozen=True, slots=True)
class Intent:
    id: str
    status: IntentStatus
    amount: Decimal
    amount_received: Decimal = Decimal(0)
    failure_message: str | None = None
    next_action_url: str | None = None


@dataclass(frozen=True, slots=True)
class RefundRequest:
    intent_id: str
    amount: Decimal
    currency: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    id: str
    status: Literal["succeeded", "failed"]
    amount: Decimal
    failure_message: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified notification: ``type`` uses Stripe's names, e.g. ``payment_intent.succeeded``."""

    id: str
    type: str
    intent_id: str
    amount: Decimal
    currency: str
    payload: dict[str, Any] = field(default_factory=dict)


class WebhookSignatureError(ValueError):
    """The webhook's signature is missing, wrong or too old: the request changes nothing."""


class ProviderError(RuntimeError):
    """The provider could not be reached or answered with an error."""


class PaymentProvider(Protocol):
    name: str
    methods_hint: str  # the payment methods it knows, said to a caller who sent another

    def knows_method(self, method: str) -> bool:
        """Whether ``method`` is one this provider can charge (checked before any write)."""
        ...

    async def create_intent(self, request: IntentRequest) -> Intent:
        """Create and confirm an intent with the payment method (Stripe: confirm=true)."""
        ...

    async def cancel(self, intent_id: str, idempotency_key: str) -> Intent: ...

    async def refund(self, request: RefundRequest) -> ProviderRefund: ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify the signature and decode; raise :class:`WebhookSignatureError` if forged."""
        ...
