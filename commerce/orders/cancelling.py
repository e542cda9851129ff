"""``cancelBooking``: a HELD booking gives its units back; a paid one refunds its unredeemed
vouchers through the provider (partially when some were redeemed) and ends CANCELLED (its
status follows its vouchers: ``states.py``). The refund path is shared with expiry refunds
(``sweeper.py``): when the provider confirms, the ledger moves the amount from escrow back
to the customer and the units go back on sale while the deal is on sale.

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
from commerce.identity.principal import Principal
from commerce.money import ledger
from commerce.orders import states
from commerce.orders.payments.provider import ProviderError, ProviderRefund, RefundRequest
from commerce.orders.services import OrderServices
from commerce.outcomes import BookingCancelled, CancelOutcome, NotCancellable
from db import bookings_sql, payments_sql, vouchers_sql
from db.database import Database
from db.order_rows import BookingRow, PaymentRow, RefundRow, VoucherRow
from db.payments_sql import Event

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


@dataclass(frozen=True, slots=True)
class Taken:
    """What the first transaction of a refund holds: the booking as ended, the PENDING
    refund row, and what the provider call needs."""

    booking: BookingRow
    refund: RefundRow
    pending: PendingRefund


async def cancel_booking(
    database: Database,
    services: OrderServices,
    principal: Principal,
    booking_id: int,
    reason: str | None,
) -> CancelOutcome:
    if reason is not None and len(reason) > MAX_REASON:
        raise UserInputError("input.reason", f"reason must be at most {MAX_REASON} characters")
    async with database.write() as conn:
        booking = await bookings_sql.lock_booking(conn, booking_id)
        if booking is None:
            raise NotFoundError("no Booking with this ID")
        principal.require_owner(booking.user_id, "booking")
        if booking.status == "HELD":
            return await _release(conn, booking, reason)
        if booking.status not in ("CONFIRMED", "COMPLETED"):
            return NotCancellable(f"this booking is already {booking.status.lower()}")
        taken = await _take_refundable(conn, booking, reason)
    if isinstance(taken, NotCancellable):
        return taken
    return await _refund(database, services, taken)


async def _release(conn: AsyncConnection, booking: BookingRow, reason: str | None) -> CancelOutcome:
    payment = await payments_sql.payment_of_booking(conn, booking.id)
    if payment is not None and payment.status == "PENDING":
        return NotCancellable("a payment for this booking is in progress; wait for its result")
    released = await bookings_sql.release_hold(conn, booking.id, "CANCELLED", reason or "cancelled")
    assert released is not None  # HELD under this transaction's lock
    return BookingCancelled(released.booking, None)


async def _take_refundable(
    conn: AsyncConnection, booking: BookingRow, reason: str | None
) -> Taken | NotCancellable:
    payment = await payments_sql.payment_of_booking(conn, booking.id)
    issued = await vouchers_sql.lock_issued_of_booking(conn, booking.id)
    if payment is None or payment.provider_payment_id is None or not issued:
        return NotCancellable("nothing left to refund: every voucher was redeemed or refunded")
    amount = sum((v.unit_price for v in issued), Decimal(0))
    if amount <= 0:
        return NotCancellable("free vouchers cannot be refunded")
    if amount > await payments_sql.refundable_left(conn, payment.id):  # before the provider
        log.error(
            "booking %s: refund %s exceeds what payment %s has left", booking.id, amount, payment.id
        )
        return NotCancellable("this refund would exceed what was paid; nothing was refunded")
    return await _take(conn, booking.id, payment, issued, reason)


async def take_expired(conn: AsyncConnection, booking_id: int) -> Taken | None:
    """Take the booking's expired, unredeemed vouchers out of circulation for a refund
    (the sweeper); None when there are none (any more: another round took them) or they
    were free. The booking's row lock makes concurrent rounds take them once."""
    booking = await bookings_sql.lock_booking(conn, booking_id)
    if booking is None:
        return None
    expired = await vouchers_sql.lock_expired_of_booking(conn, booking_id)
    payment = await payments_sql.payment_of_booking(conn, booking_id)
    if not expired or payment is None or payment.provider_payment_id is None:
        return None
    if sum((v.unit_price for v in expired), Decimal(0)) <= 0:
        return None
    return await _take(conn, booking_id, payment, expired, states.EXPIRY_REASON)


async def _take(
    conn: AsyncConnection,
    booking_id: int,
    payment: PaymentRow,
    vouchers: list[VoucherRow],
    reason: str | None,
) -> Taken:
    """The refund row (PENDING), its vouchers REFUNDED and the booking's status after."""
    assert payment.provider_payment_id is not None  # checked by the callers
    amount = sum((v.unit_price for v in vouchers), Decimal(0))
    refund = await payments_sql.insert_refund(conn, payment, amount, reason)
    await vouchers_sql.mark_refunded(conn, [v.id for v in vouchers], refund.id)
    ended = await states.settle_booking(conn, booking_id)
    assert ended is not None  # a paid booking under this transaction's lock
    pending = PendingRefund(
        refund_id=refund.id,
        booking_id=booking_id,
        payment_id=payment.id,
        intent_id=payment.provider_payment_id,
        provider=payment.provider,
        amount=amount,
        currency=payment.currency,
        key=refund.provider_idempotency_key,
    )
    return Taken(booking=ended, refund=refund, pending=pending)


async def _refund(database: Database, services: OrderServices, taken: Taken) -> CancelOutcome:
    answer = await ask_refund(services, taken.pending)
    if answer is None:  # unknown outcome: stays PENDING, retried with the same key
        return BookingCancelled(taken.booking, taken.refund)
    settled = await settle_refund(database, taken.pending, answer)
    if settled is None:  # settled by someone else: show what they left
        return await _as_it_stands(database, taken.pending)
    if settled.status == "FAILED":
        return NotCancellable("the refund did not go through; nothing changed, try again")
    return BookingCancelled(taken.booking, settled)


async def _as_it_stands(database: Database, pending: PendingRefund) -> CancelOutcome:
    async with database.read() as conn:
        bookings = await bookings_sql.bookings_by_ids(conn, [pending.booking_id])
        refunds = await payments_sql.refunds_by_ids(conn, [pending.refund_id])
    return BookingCancelled(bookings[pending.booking_id], refunds.get(pending.refund_id))


async def ask_refund(services: OrderServices, pending: PendingRefund) -> ProviderRefund | None:
    """The provider's answer; None when it could not be reached (the refund may or may not
    have happened, so nothing is undone: a retry with the same key finds out)."""
    request = RefundRequest(pending.intent_id, pending.amount, pending.currency, pending.key)
    try:
        return await services.provider(pending.provider).refund(request)
    except ProviderError as error:
        log.warning("refund %s: provider error, will retry: %s", pending.refund_id, error)
        return None


async def settle_refund(
    database: Database, pending: PendingRefund, answer: ProviderRefund
) -> RefundRow | None:
    """Apply the provider's answer once: the refund as settled (SUCCEEDED, or FAILED with
    the vouchers given back); None when someone else settled it first."""
    async with database.write() as conn:
        if answer.status == "succeeded":
            return await _refunded(conn, pending, answer)
        await bookings_sql.lock_booking(conn, pending.booking_id)  # booking before vouchers
        failed = await payments_sql.finish_refund(
            conn, pending.refund_id, "FAILED", answer.id or None
        )
        if failed is None:
            return None
        await vouchers_sql.unmark_refunded(conn, pending.refund_id)
        await states.settle_booking(conn, pending.booking_id)
    return failed


async def _refunded(
    conn: AsyncConnection, pending: PendingRefund, answer: ProviderRefund
) -> RefundRow | None:
    refunded = await payments_sql.finish_refund(conn, pending.refund_id, "SUCCEEDED", answer.id)
    if refunded is None:
        return None
    if not await payments_sql.add_refunded(conn, pending.payment_id, pending.amount):
        raise RuntimeError(f"refund {pending.refund_id} exceeds what payment captured")
    await ledger.post_refund(
        conn, pending.refund_id, pending.payment_id, pending.booking_id, pending.amount
    )
    booking = (await bookings_sql.bookings_by_ids(conn, [pending.booking_id]))[pending.booking_id]
    units = await vouchers_sql.count_of_refund(conn, pending.refund_id)
    await states.restock_refunded(conn, booking, units)
    await payments_sql.record_event(
        conn,
        Event(
            provider=pending.provider,
            event_id=f"o2o:refund:{pending.refund_id}:succeeded",
            type="refund.succeeded",
            payment_id=pending.payment_id,
            amount=pending.amount,
        ),
    )
    return refunded
