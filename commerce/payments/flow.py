"""``payBooking`` and payment webhooks, in the three steps the architecture prescribes.

1. one transaction under the booking's row lock: the PENDING payment, keyed by the caller's
   idempotency key and given a provider idempotency key of its own;
2. the provider call, outside any transaction (a retry reuses the provider key);
3. one transaction applying the provider's answer: SUCCEEDED + booking CONFIRMED + vouchers,
   or FAILED + the held units released. Webhooks and replays call the same step 3, which
   acts only on a PENDING payment, so an answer is applied exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.errors import NotFoundError, UserInputError
from commerce.idempotency import check_key, fingerprint, reused_key
from commerce.loop import Loop
from commerce.outcomes import (
    ActionRequired,
    Declined,
    NotPayable,
    Paid,
    PayOutcome,
    Processing,
)
from commerce.payments.provider import Intent, IntentRequest, ProviderError
from commerce.principal import Principal
from commerce.vouchers import code_for, code_hash, new_nonce
from geo import booking_sql, lookup, payment_sql, voucher_sql
from geo.loop_rows import BookingRow, PaymentRow
from geo.payment_sql import Event, NewPayment
from geo.voucher_sql import NewVoucher, VoucherBatch

log = logging.getLogger("o2o.payments")
PAID_STATUSES = ("SUCCEEDED", "PARTIALLY_REFUNDED", "REFUNDED")


@dataclass(frozen=True, slots=True)
class PayRequest:
    booking_id: int
    payment_method: str
    idempotency_key: str


async def pay_booking(loop: Loop, principal: Principal, request: PayRequest) -> PayOutcome:
    check_key(request.idempotency_key)
    if not 1 <= len(request.payment_method) <= 80:
        raise UserInputError("input.paymentMethod", "paymentMethod must be 1 to 80 characters")
    stamp = fingerprint(request.booking_id, request.payment_method)
    loop.provider()  # fail before anything is written when payments are not configured
    async with loop.database.write() as conn:
        started = await _start(conn, loop, principal, request, stamp)
    if isinstance(started, NotPayable):
        return started
    return await _drive(loop, started)


async def _start(
    conn: AsyncConnection, loop: Loop, principal: Principal, request: PayRequest, stamp: str
) -> PaymentRow | NotPayable:
    """Step 1: the booking's row lock serialises concurrent attempts on one booking."""
    booking = await booking_sql.lock_booking(conn, request.booking_id)
    if booking is None:
        raise NotFoundError("no Booking with this ID")
    principal.require_owner(booking.user_id, "booking")
    replayed = await payment_sql.payment_by_key(conn, principal.subject, request.idempotency_key)
    if replayed is not None:
        if replayed.fingerprint != stamp:
            raise reused_key()
        return replayed
    refusal = await _not_payable(conn, booking)
    if refusal is not None:
        return refusal
    payment_id = await payment_sql.insert_payment(
        conn,
        NewPayment(
            booking_id=booking.id,
            user_id=principal.subject,
            idempotency_key=request.idempotency_key,
            fingerprint=stamp,
            provider=loop.config.default_provider,
            payment_method=request.payment_method,
            currency=booking.currency,
            amount=booking.total_price,
        ),
    )
    await payment_sql.record_event(
        conn, _local_event(loop.config.default_provider, payment_id, "payment.created")
    )
    payment = await payment_sql.lock_payment(conn, payment_id)
    assert payment is not None
    return payment


async def _not_payable(conn: AsyncConnection, booking: BookingRow) -> NotPayable | None:
    existing = await payment_sql.payment_of_booking(conn, booking.id)
    if existing is not None:
        if existing.status in PAID_STATUSES:
            return NotPayable("this booking is already paid")
        return NotPayable("this booking already has a payment (use its idempotencyKey)")
    if booking.status != "HELD":
        return NotPayable(f"this booking is {booking.status.lower()}")
    if not await booking_sql.hold_is_live(conn, booking.id):
        return NotPayable("the hold on this booking has expired; book again")
    return None


async def _drive(loop: Loop, payment: PaymentRow) -> PayOutcome:
    """Step 2 and 3, unless the payment already has its answer (a replay)."""
    if payment.status != "PENDING" or payment.next_action_url is not None:
        return outcome_of(payment)
    provider = loop.provider(payment.provider)
    try:
        intent = await provider.create_intent(intent_request(payment))
    except ProviderError as error:
        # The charge may or may not have happened: change nothing. A replay with the same
        # key, or the sweeper after the grace period, asks again with the same provider key.
        log.warning("payment %s: provider error: %s", payment.id, error)
        return outcome_of(payment)
    async with loop.database.write() as conn:
        applied = await apply_intent(conn, loop, payment.id, intent)
    return outcome_of(applied)


def intent_request(payment: PaymentRow) -> IntentRequest:
    """The same request (and provider idempotency key) on every attempt for a payment."""
    return IntentRequest(
        amount=payment.amount,
        currency=payment.currency,
        payment_method=payment.payment_method,
        idempotency_key=payment.provider_idempotency_key,
        reference=f"booking:{payment.booking_id}",
    )


async def apply_intent(
    conn: AsyncConnection, loop: Loop, payment_id: int, intent: Intent
) -> PaymentRow:
    """Step 3: apply a provider answer to a PENDING payment; anything else is a no-op."""
    payment = await payment_sql.lock_payment(conn, payment_id)
    if payment is None:
        raise NotFoundError("no Payment with this ID")
    if payment.status != "PENDING":
        if intent.status == "succeeded" and payment.status == "FAILED":
            log.error("payment %s: provider reports success after failure; refund it", payment.id)
        return payment
    if intent.status == "succeeded":
        await _succeed(conn, loop, payment, intent)
    elif intent.status in ("requires_action", "requires_capture"):
        await payment_sql.set_provider_ref(conn, payment.id, intent.id, intent.next_action_url)
        await payment_sql.record_event(
            conn, _local_event(payment.provider, payment.id, "payment.requires_action")
        )
    else:
        await _fail(conn, payment, intent)
    updated = await payment_sql.lock_payment(conn, payment_id)
    assert updated is not None
    return updated


async def _succeed(conn: AsyncConnection, loop: Loop, payment: PaymentRow, intent: Intent) -> None:
    booking = await booking_sql.lock_booking(conn, payment.booking_id)
    assert booking is not None
    if booking.status != "HELD":  # prevented by the locking protocol; never drop money silently
        raise RuntimeError(f"payment {payment.id} succeeded for a {booking.status} booking")
    await payment_sql.mark_succeeded(conn, payment.id, intent.id)
    await booking_sql.set_status(conn, booking.id, "CONFIRMED", was=["HELD"], reason=None)
    await _issue_vouchers(conn, loop, booking)
    await payment_sql.record_event(
        conn,
        _local_event(payment.provider, payment.id, "payment.succeeded", payment.amount),
    )


async def _fail(conn: AsyncConnection, payment: PaymentRow, intent: Intent) -> None:
    message = intent.failure_message or "the payment was not completed"
    ref = intent.id or None
    await payment_sql.mark_failed(conn, payment.id, ref, message)
    await booking_sql.release_hold(conn, payment.booking_id, "CANCELLED", "payment failed")
    await payment_sql.record_event(
        conn, _local_event(payment.provider, payment.id, "payment.failed")
    )


async def _issue_vouchers(conn: AsyncConnection, loop: Loop, booking: BookingRow) -> None:
    deal = (await lookup.deals_by_ids(conn, [booking.deal_id]))[booking.deal_id]
    key = loop.config.voucher_key
    units = []
    for index in range(1, booking.quantity + 1):
        nonce = new_nonce()
        units.append(NewVoucher(index, nonce, code_hash(key, code_for(key, nonce))))
    await voucher_sql.insert_vouchers(
        conn,
        VoucherBatch(
            booking_id=booking.id,
            user_id=booking.user_id,
            deal_id=deal.id,
            merchant_id=deal.merchant_id,
            unit_price=booking.unit_price,
            valid_until=deal.valid_until,
            units=units,
        ),
    )


def outcome_of(payment: PaymentRow) -> PayOutcome:
    if payment.status in PAID_STATUSES:
        return Paid(payment.booking_id, payment.id)
    if payment.status == "FAILED":
        message = payment.failure_message or "the payment failed"
        return Declined(message, payment.booking_id, payment.id)
    if payment.next_action_url is None:
        message = "the payment provider has not answered yet; retry with the same idempotencyKey"
        return Processing(message, payment.booking_id, payment.id)
    return ActionRequired(
        "the customer must authenticate the payment; it completes when the provider confirms",
        payment.booking_id,
        payment.id,
        payment.next_action_url,
    )


def _local_event(provider: str, payment_id: int, kind: str, amount: Decimal | None = None) -> Event:
    return Event(
        provider=provider,
        event_id=f"o2o:payment:{payment_id}:{kind}",
        type=kind,
        payment_id=payment_id,
        amount=amount,
    )
