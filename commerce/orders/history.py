"""What the signed-in user has bought and what staff have scanned: a user's bookings and
vouchers and a merchant's redemptions, newest first, in keyset pages (one read each)."""

from __future__ import annotations

from commerce.identity.principal import Principal
from commerce.keyset import KeysetPage, page_of
from commerce.orders.services import OrderServices
from commerce.orders.vouchers import VoucherView
from db import bookings_sql, vouchers_sql
from db.database import Database
from db.order_rows import BookingRow, MerchantRedemptionRow


async def bookings_of_user(
    database: Database, user_id: str, before_id: int | None, limit: int
) -> KeysetPage[BookingRow]:
    async with database.read() as conn:
        rows = await bookings_sql.bookings_of_user(conn, user_id, before_id, limit + 1)
        total = await bookings_sql.count_bookings_of_user(conn, user_id)
    return page_of(rows, limit, total)


async def vouchers_of_user(
    database: Database, services: OrderServices, user_id: str, before_id: int | None, limit: int
) -> KeysetPage[VoucherView]:
    async with database.read() as conn:
        rows = await vouchers_sql.vouchers_of_user(conn, user_id, before_id, limit + 1)
        total = await vouchers_sql.count_vouchers_of_user(conn, user_id)
    return page_of([services.voucher_view(row) for row in rows], limit, total)


async def redemptions_of_staff_merchant(
    database: Database, principal: Principal, before_id: int | None, limit: int
) -> KeysetPage[MerchantRedemptionRow]:
    """The redemptions of the merchant the caller works for (reversed ones included, as the
    audit trail); an empty page for anyone else."""
    merchant_id = principal.merchant_id
    if merchant_id is None or not principal.is_staff_of(merchant_id):
        return KeysetPage(rows=[], has_next=False, total=0)
    async with database.read() as conn:
        rows = await vouchers_sql.redemptions_of_merchant(conn, merchant_id, before_id, limit + 1)
        total = await vouchers_sql.count_redemptions_of_merchant(conn, merchant_id)
    return page_of(rows, limit, total)
