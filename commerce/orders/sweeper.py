"""The sweeper: what must happen even when nobody calls back.

Each round expires unpaid holds, settles payments stuck PENDING long after their hold
ended (the customer never authenticated, or the process died before the provider call),
retries refunds whose provider call never finished, refunds vouchers that expired
unredeemed (once: the booking's row lock and the vouchers' ISSUED state; then the same
refund path as ``cancelBooking``), and adds the time slots of weekly
schedules for the days that came into range (``commerce/merchants/slots.py``). Every step
reuses the provider idempotency key of the original attempt and the same conditional
transitions as the request path, so a round can overlap with requests, webhooks and other
workers.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from commerce.merchants.slots import roll_slot_plans
from commerce.orders.booking import expire_holds
from commerce.orders.cancelling import PendingRefund, ask_refund, settle_refund, take_expired
from commerce.orders.payments.flow import apply_intent, intent_request
from commerce.orders.payments.provider import Intent, ProviderError
from commerce.orders.services import OrderServices
from db import payments_sql, vouchers_sql
from db.database import Database
from db.order_rows import PaymentRow

log = logging.getLogger("o2o.sweeper")
BATCH = 50
TIMED_OUT = "the payment was not completed in time"


@dataclass(frozen=True, slots=True)
class SweepReport:
    expired_holds: int
    settled_payments: int
    retried_refunds: int
    added_slots: int = 0
    expiry_refunds: int = 0


async def sweep_once(database: Database, services: OrderServices) -> SweepReport:
    return SweepReport(
        expired_holds=await expire_holds(database),
        settled_payments=await settle_stale_payments(database, services),
        retried_refunds=await retry_stale_refunds(database, services),
        added_slots=await roll_slot_plans(database, datetime.now(UTC)),
        expiry_refunds=await refund_expired_vouchers(database, services),
    )


async def sweep_forever(
    database: Database, services: OrderServices, interval_seconds: float
) -> None:
    """Run :func:`sweep_once` every ``interval_seconds`` until cancelled."""
    while True:
        try:
            report = await sweep_once(database, services)
            if report != SweepReport(0, 0, 0):
                log.info("sweeper: %s", report)
        except Exception:  # a database or provider hiccup must not end the sweeper
            log.exception("sweeper round failed")
        await asyncio.sleep(interval_seconds)


async def settle_stale_payments(database: Database, services: OrderServices) -> int:
    async with database.read() as conn:
        ids = await payments_sql.stale_pending_payments(
            conn, services.config.payment_grace_seconds, BATCH
        )
        payments = await payments_sql.payments_by_ids(conn, ids)
    settled = 0
    for payment in payments.values():
        intent = await _final_answer(services, payment)
        if intent is not None:
            async with database.write() as conn:
                await apply_intent(conn, services, payment.id, intent)
            settled += 1
    return settled


async def _final_answer(services: OrderServices, payment: PaymentRow) -> Intent | None:
    """Ask again (same key) when the first call never returned, then cancel what still
    waits for the customer; None when the provider cannot be reached (next round)."""
    provider = services.provider(payment.provider)
    try:
        intent_id = payment.provider_payment_id
        if intent_id is None:
            intent = await provider.create_intent(intent_request(payment))
            if intent.status not in ("requires_action", "requires_capture"):
                return intent
            intent_id = intent.id
        key = f"{payment.provider_idempotency_key}-cancel"
        cancelled = await provider.cancel(intent_id, key)
    except ProviderError as error:
        log.warning("payment %s: provider unreachable, next round: %s", payment.id, error)
        return None
    if cancelled.status == "succeeded":  # it completed after all
        return cancelled
    return Intent(intent_id, "failed", payment.amount, failure_message=TIMED_OUT)


async def retry_stale_refunds(database: Database, services: OrderServices) -> int:
    async with database.read() as conn:
        rows = await payments_sql.stale_refunds(
            conn, services.config.refund_retry_after_seconds, BATCH
        )
    retried = 0
    for row in rows:
        pending = PendingRefund(
            refund_id=row.id,
            booking_id=row.booking_id,
            payment_id=row.payment_id,
            intent_id=row.provider_payment_id,
            provider=row.provider,
            amount=row.amount,
            currency=row.currency,
            key=row.provider_idempotency_key,
        )
        answer = await ask_refund(services, pending)
        if answer is not None:
            await settle_refund(database, pending, answer)
            retried += 1
    return retried


async def refund_expired_vouchers(database: Database, services: OrderServices) -> int:
    """Refund the vouchers whose validity ended unredeemed: one refund per booking and
    round, through the provider and the ledger like ``cancelBooking``'s. Returns how many
    refunds this round started."""
    async with database.read() as conn:
        booking_ids = await vouchers_sql.bookings_with_expired_vouchers(conn, BATCH)
    started = 0
    for booking_id in booking_ids:
        async with database.write() as conn:
            taken = await take_expired(conn, booking_id)
        if taken is None:  # another round took them, or nothing to pay back
            continue
        started += 1
        answer = await ask_refund(services, taken.pending)
        if answer is not None:  # else retried by retry_stale_refunds with the same key
            await settle_refund(database, taken.pending, answer)
    return started
