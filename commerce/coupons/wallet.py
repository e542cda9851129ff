"""One wallet entry for its owner (``walletUpdates``): the claimed coupon with its code,
only when it is the caller's."""

from __future__ import annotations

from commerce.coupons.codes import ClaimedCouponView, view_of
from commerce.orders.services import OrderServices
from db import coupons_sql
from db.database import Database


async def wallet_entry(
    database: Database, services: OrderServices, subject: str, claimed_id: int
) -> ClaimedCouponView | None:
    """The claimed coupon ``claimed_id`` when ``subject`` holds it; None otherwise."""
    async with database.read() as conn:
        row = (await coupons_sql.claimed_by_ids(conn, [claimed_id])).get(claimed_id)
    if row is None or row.user_id != subject:
        return None
    return view_of(row, services.config.voucher_key)
