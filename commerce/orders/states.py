"""A paid booking's status follows its vouchers; one rule for every path that changes them
(redeem, reverse, cancel, a refused refund, expiry).

- CONFIRMED: at least one voucher can still be used (ISSUED), whatever happened to the
  others; ``cancelReason`` is cleared.
- COMPLETED: every voucher was redeemed.
- CANCELLED: nothing is left to use and some vouchers were refunded because the customer
  cancelled (a partly redeemed booking included: its payment says PARTIALLY_REFUNDED);
  ``cancelReason`` says why.
- EXPIRED: as CANCELLED, but the last refund was of vouchers that expired unredeemed
  (``cancelReason`` :data:`EXPIRY_REASON`). An unpaid hold that ran out is EXPIRED too.

Also here: refunded units go back on sale while the deal is on sale (``domain/offer.py``).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from db import bookings_sql, vouchers_sql
from db.order_rows import BookingRow
from domain.offer import takes_back_units

EXPIRY_REASON = "the vouchers expired unredeemed and were refunded"
DEFAULT_CANCEL_REASON = "cancelled"


def status_of(counts: dict[str, int], last_refund_reason: str | None) -> tuple[str, str | None]:
    """(status, cancel reason) of a paid booking with these voucher counts."""
    if counts.get("ISSUED"):
        return "CONFIRMED", None
    if not counts.get("REFUNDED"):
        return "COMPLETED", None
    if last_refund_reason == EXPIRY_REASON:
        return "EXPIRED", EXPIRY_REASON
    return "CANCELLED", last_refund_reason or DEFAULT_CANCEL_REASON


async def settle_booking(conn: AsyncConnection, booking_id: int) -> BookingRow | None:
    """Bring a paid booking's status in line with its vouchers (booking row locked by the
    caller); None for a booking that never was paid."""
    counts = await vouchers_sql.status_counts(conn, booking_id)
    reason = None
    if counts.get("REFUNDED") and not counts.get("ISSUED"):
        reason = await vouchers_sql.last_refund_reason(conn, booking_id)
    status, cancel_reason = status_of(counts, reason)
    return await bookings_sql.settle_status(conn, booking_id, status, cancel_reason)


async def restock_refunded(conn: AsyncConnection, booking: BookingRow, units: int) -> bool:
    """Put refunded units back to stock while the deal is on sale; True when it did."""
    deal = await bookings_sql.lock_deal_terms(conn, booking.deal_id)
    if deal is None or units <= 0 or not takes_back_units(deal, deal.now):
        return False
    await bookings_sql.restock(conn, booking, units)
    return True
