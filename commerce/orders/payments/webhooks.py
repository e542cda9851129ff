"""Provider webhooks: verified, logged once, then applied through the same step 3 as
``payBooking``. A replayed event finds its id in the log and changes nothing."""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping

from commerce.errors import NotFoundError
from commerce.orders.payments.flow import apply_to_locked
from commerce.orders.payments.provider import Intent, WebhookEvent
from commerce.orders.payments.sandbox import SandboxProvider
from commerce.orders.services import OrderServices
from db import payments_sql
from db.database import Database
from db.payments_sql import Event

log = logging.getLogger("o2o.webhooks")
INTENT_STATES = {
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "canceled",
}


class WebhookResult(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


async def handle_webhook(
    database: Database,
    services: OrderServices,
    provider_name: str,
    body: bytes,
    headers: Mapping[str, str],
) -> WebhookResult:
    """Raises ``WebhookSignatureError`` for a forged or stale event (nothing is written)."""
    provider = services.providers.get(provider_name)
    if provider is None:
        raise NotFoundError(f"no payment provider named {provider_name!r} is configured")
    event = provider.parse_webhook(body, headers)
    async with database.write() as conn:
        payment_id = await payments_sql.payment_id_by_provider_ref(
            conn, provider.name, event.intent_id
        )
        logged = Event(
            provider=provider.name,
            event_id=event.id,
            type=event.type,
            payment_id=payment_id,
            amount=event.amount,
            payload=event.payload,
        )
        if not await payments_sql.record_event(conn, logged):
            return WebhookResult.DUPLICATE
        intent = _intent_of(event)
        if payment_id is None or intent is None:
            return WebhookResult.IGNORED
        payment = await payments_sql.lock_payment(conn, payment_id)
        if payment is None or (payment.amount, payment.currency) != (event.amount, event.currency):
            log.warning("webhook %s does not match payment %s; ignored", event.id, payment_id)
            return WebhookResult.IGNORED
        await apply_to_locked(conn, services, payment, intent)
    return WebhookResult.APPLIED


def _intent_of(event: WebhookEvent) -> Intent | None:
    status = INTENT_STATES.get(event.type)
    if status == "succeeded":
        return Intent(event.intent_id, "succeeded", event.amount, amount_received=event.amount)
    if status in ("failed", "canceled"):
        message = "the customer did not complete authentication"
        return Intent(event.intent_id, "failed", event.amount, failure_message=message)
    return None


async def sandbox_event_for(
    database: Database, provider: SandboxProvider, intent_id: str, event_type: str
) -> tuple[bytes, dict[str, str]] | None:
    """The signed event the sandbox sends once its customer (dis)approves a payment."""
    async with database.read() as conn:
        payment_id = await payments_sql.payment_id_by_provider_ref(conn, provider.name, intent_id)
        if payment_id is None:
            return None
        payment = (await payments_sql.payments_by_ids(conn, [payment_id]))[payment_id]
    return provider.signed_event(event_type, intent_id, payment.amount, payment.currency)
