"""Visits: every redemption at a merchant (a voucher or a coupon) counts for the customer's
membership there, in the redeeming transaction.

``record_visit`` is called by ``commerce/orders/redemption.py`` (vouchers) and by the coupon
redemption. A customer who is not a member is enrolled (``joined_how = 'AUTO'``) only when
the merchant's program has ``auto_join`` and the customer accepted it for that merchant
(``acceptAutoJoin``, a ``membership_consents`` row); otherwise nothing is recorded. A
source (``VOUCHER``/``COUPON`` + its redemption id) counts once; ``undo_visit`` removes it
when the redemption is reversed. Points are ``floor(spend * points_per_unit)`` per visit
(rate 1 without a program); the tier is the highest threshold the points reach.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from db import members_sql
from db.members_sql import MembershipRow, NewVisit

Source = Literal["VOUCHER", "COUPON", "OTHER"]
DEFAULT_CURRENCY = "EUR"


async def record_visit(
    conn: AsyncConnection,
    merchant_id: int,
    subject: str,
    spend: Decimal,
    at: datetime,
    *,
    currency: str = DEFAULT_CURRENCY,
    source: Source = "OTHER",
    source_id: int | None = None,
) -> MembershipRow | None:
    """Count a visit of ``subject`` at ``merchant_id`` spending ``spend`` at ``at`` (aware).

    Returns the membership as it stands afterwards, or None when the customer is not a
    member and is not enrolled automatically. Runs inside the caller's transaction; the
    membership row is locked, so concurrent visits of one member are counted one by one.
    """
    if at.tzinfo is None:
        raise ValueError("a visit's time needs a UTC offset")
    if spend < 0:
        raise ValueError("a visit's spend cannot be negative")
    membership = await _membership_for_visit(conn, merchant_id, subject)
    if membership is None:
        return None
    visit = NewVisit(membership.id, merchant_id, at, spend, currency, source, source_id)
    await members_sql.insert_visit(conn, visit)
    return await members_sql.membership_of(conn, merchant_id, subject)


async def undo_visit(conn: AsyncConnection, source: Source, source_id: int) -> None:
    """Forget the visit of a reversed redemption and recompute its membership's figures."""
    membership_id = await members_sql.delete_visit(conn, source, source_id)
    if membership_id is not None:
        await members_sql.refresh(conn, membership_id)


async def _membership_for_visit(
    conn: AsyncConnection, merchant_id: int, subject: str
) -> MembershipRow | None:
    membership = await members_sql.lock_membership(conn, merchant_id, subject)
    if membership is not None:
        return membership
    if not await _enrols_automatically(conn, merchant_id, subject):
        return None
    await members_sql.insert_membership(conn, merchant_id, subject, "AUTO")
    return await members_sql.lock_membership(conn, merchant_id, subject)


async def _enrols_automatically(conn: AsyncConnection, merchant_id: int, subject: str) -> bool:
    program = await members_sql.program_of(conn, merchant_id)
    if program is None or not program.auto_join:
        return False
    return await members_sql.has_consent(conn, merchant_id, subject)
