"""``cancelBooking``: a HELD booking gives its units back; a paid one refunds its unredeemed
vouchers through the provider (partially when some were redeemed).

The vouchers are taken out of circulation (REFUNDED) in the first transaction, so they can
be neither redeemed nor refunded twice while the provider is called; the refund is counted
against the payment only when the provider confirms it, bounded by a CHECK on the payment
(refunded <= captured). If the provider refuses, the vouchers are the customer's again; if
it cannot be reached, the refund stays PENDING and the sweeper retries it with the same key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.errors import NotFoundError, UserInputError
from commerce.loop import Loop
from commerce.outcomes import Cancelled, CancelOutcome, NotCancellable
from commerce.payments.provider import ProviderError, ProviderRefund, RefundRequest
from commerce.principal import Principal
from geo import booking_sql, payment_sql, voucher_sql
from geo.loop_rows import BookingRow
from geo.payment_sql import Event

log = logging.getLogger("o2o.cancel")
MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class PendingRefund:
    refund_id: int
    booking_id: int
    payment_id: int
    intent_id: str
    provider: str
    amount: Decimal
    currency: str
    key: str


async def cancel_booking(
    loop: Loop, principal: Principal, booking_id: int, reason: str | None
) -> CancelOutcome:
    if reason is not None and len(reason) > MAX_REASON:
        raise UserInputError("input.reason", f"reason must be at most {MAX_REASON} characters")
    async with loop.database.write() as conn:
        booking = await booking_sql.lock_booking(conn, booking_id)
        if booking is None:
            raise NotFoundError("no Booking with this ID")
        principal.require_owner(booking.user_id, "booking")
        if booking.status == "HELD":
            return await _release(conn, booking, reason)
        if booking.status not in ("CONFIRMED", "COMPLETED"):
            return NotCancellable(f"this booking is already {booking.status.lower()}")
        pending = await _take_refundable(conn, booking, reason)
    if isinstance(pending, NotCancellable):
        return pending
    return await _refund(loop, pending)


async def _release(conn: AsyncConnection, booking: BookingRow, reason: str | None) -> CancelOutcome:
    payment = await payment_sql.payment_of_booking(conn, booking.id)
    if payment is not None and payment.status == "PENDING":
        return NotCancellable("a payment for this booking is in progress; wait for its result")
    await booking_sql.release_hold(conn, booking.id, "CANCELLED", reason or "cancelled")
    return Cancelled(booking.id, None)


async def _take_refundable(
    conn: AsyncConnection, booking: BookingRow, reason: str | None
) -> PendingRefund | NotCancellable:
    payment = await payment_sql.payment_of_booking(conn, booking.id)
    issued = await voucher_sql.lock_issued_of_booking(conn, booking.id)
    if payment is None or payment.provider_payment_id is None or not issued:
        return NotCancellable("nothing left to refund: every voucher was redeemed or refunded")
    amount = sum((v.unit_price for v in issued), Decimal(0))
    if amount <= 0:
        return NotCancellable("free vouchers cannot be refunded")
    refund_id = await payment_sql.insert_refund(conn, payment, amount, reason)
    await voucher_sql.mark_refunded(conn, [v.id for v in issued], refund_id)
    counts = await voucher_sql.status_counts(conn, booking.id)
    final = "COMPLETED" if counts.get("REDEEMED") else "CANCELLED"
    await booking_sql.set_status(
        conn, booking.id, final, was=[booking.status], reason=reason or "cancelled"
    )
    return PendingRefund(
        refund_id=refund_id,
        booking_id=booking.id,
        payment_id=payment.id,
        intent_id=payment.provider_payment_id,
        provider=payment.provider,
        amount=amount,
        currency=payment.currency,
        key=f"o2o-refund-{refund_id}",
    )


async def _refund(loop: Loop, pending: PendingRefund) -> CancelOutcome:
    answer = await ask_refund(loop, pending)
    if answer is None:  # unknown outcome: stays PENDING, retried with the same key
        return Cancelled(pending.booking_id, pending.refund_id)
    return await settle_refund(loop, pending, answer)


async def ask_refund(loop: Loop, pending: PendingRefund) -> ProviderRefund | None:
    """The provider's answer; None when it could not be reached (the refund may or may not
    have happened, so nothing is undone: a retry with the same key finds out)."""
    request = RefundRequest(pending.intent_id, pending.amount, pending.currency, pending.key)
    try:
        return await loop.provider(pending.provider).refund(request)
    except ProviderError as error:
        log.warning("refund %s: provider error, will retry: %s", pending.refund_id, error)
        return None


async def settle_refund(
    loop: Loop, pending: PendingRefund, answer: ProviderRefund
) -> CancelOutcome:
    async with loop.database.write() as conn:
        if answer.status == "succeeded":
            return await _refunded(conn, pending, answer)
        if not await payment_sql.finish_refund(
            conn, pending.refund_id, "FAILED", answer.id or None
        ):
            return Cancelled(pending.booking_id, pending.refund_id)  # settled by someone else
        await voucher_sql.unmark_refunded(conn, pending.refund_id)
        await booking_sql.set_status(
            conn, pending.booking_id, "CONFIRMED", was=["CANCELLED", "COMPLETED"], reason=None
        )
    return NotCancellable("the refund did not go through; nothing changed, try again")


async def _refunded(
    conn: AsyncConnection, pending: PendingRefund, answer: ProviderRefund
) -> CancelOutcome:
    if not await payment_sql.finish_refund(conn, pending.refund_id, "SUCCEEDED", answer.id):
        return Cancelled(pending.booking_id, pending.refund_id)  # settled by someone else
    if not await payment_sql.add_refunded(conn, pending.payment_id, pending.amount):
        raise RuntimeError(f"refund {pending.refund_id} exceeds what payment captured")
    await payment_sql.record_event(
        conn,
        Event(
            provider=pending.provider,
            event_id=f"o2o:refund:{pending.refund_id}:succeeded",
            type="refund.succeeded",
            payment_id=pending.payment_id,
            amount=pending.amount,
        ),
    )
    return Cancelled(pending.booking_id, pending.refund_id)
