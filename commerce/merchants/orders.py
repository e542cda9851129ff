"""``Merchant.orders``: the bookings of a merchant's deals, for its staff, newest first.

- OWNER and MANAGER see every order, filtered by status, deal, store and creation time.
- A CASHIER sees the orders of its own store (the token's ``store`` claim; a cashier without
  one, any of the merchant's stores) for *today* in that store's time zone: booked today or
  with a time slot today.
- The customer appears as ``customerRef``, an HMAC of the token subject under a key derived
  from the voucher secret with a label of its own: stable per customer (a merchant sees
  that two orders are the same customer's), never the subject itself, and not comparable
  across deployments.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.errors import UserInputError
from commerce.identity import roles
from commerce.identity.principal import Principal
from commerce.keyset import KeysetPage, page_of
from db import orders_sql
from db.database import Database
from db.order_rows import BookingRow
from db.orders_sql import OrderCriteria

REF_LABEL = b"o2o-customer-ref"
STATUSES = ("HELD", "CONFIRMED", "CANCELLED", "EXPIRED", "COMPLETED")


@dataclass(frozen=True, slots=True)
class OrderFilter:
    status: str | None = None
    deal_id: int | None = None
    store_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class MerchantOrder:
    """A booking as the merchant's staff see it: the customer only as a pseudonym."""

    booking: BookingRow
    customer_ref: str


def customer_ref(key: bytes, subject: str) -> str:
    """A stable pseudonym of ``subject`` (80 bits, base32), keyed so it cannot be reversed
    or recomputed without the server secret."""
    subkey = hmac.new(key, REF_LABEL, hashlib.sha256).digest()
    digest = hmac.new(subkey, subject.encode(), hashlib.sha256).digest()
    return "cus_" + base64.b32encode(digest[:10]).decode().lower()


async def merchant_orders(
    database: Database,
    key: bytes,
    principal: Principal,
    merchant_id: int,
    wanted: OrderFilter,
    page: tuple[int | None, int],
    now: datetime,
) -> KeysetPage[MerchantOrder]:
    """One keyset page (``page`` = before id, limit) of the merchant's orders the caller may
    see; ``FORBIDDEN`` for anyone else."""
    _check_filter(wanted)
    before_id, limit = page
    store_id = wanted.store_id
    if store_id is None and principal.staff_role == "cashier" and not principal.is_admin:
        store_id = principal.store_id
    roles.require(principal, "view_orders", merchant_id, store_id)
    async with database.read() as conn:
        zone = await _store_zone(conn, merchant_id, store_id)
        day = _today(zone, now) if _is_cashier(principal) else None
        criteria = OrderCriteria(
            merchant_id=merchant_id,
            status=wanted.status,
            deal_id=wanted.deal_id,
            store_id=store_id,
            created_from=wanted.created_from,
            created_to=wanted.created_to,
            day=day,
        )
        rows = await orders_sql.orders_page(conn, criteria, before_id, limit + 1)
        total = await orders_sql.count_orders(conn, criteria)
    orders = [MerchantOrder(row, customer_ref(key, row.user_id)) for row in rows]
    return page_of(orders, limit, total)


def _is_cashier(principal: Principal) -> bool:
    return not principal.is_admin and principal.staff_role == "cashier"


def _check_filter(wanted: OrderFilter) -> None:
    if wanted.status is not None and wanted.status not in STATUSES:
        raise UserInputError("filter.status", f"status is one of {', '.join(STATUSES)}")
    for argument, moment in (
        ("filter.from", wanted.created_from),
        ("filter.to", wanted.created_to),
    ):
        if moment is not None and moment.tzinfo is None:
            raise UserInputError(argument, f"{argument} needs a UTC offset")
    if wanted.created_from and wanted.created_to and wanted.created_to <= wanted.created_from:
        raise UserInputError("filter.to", "to must be after from")


async def _store_zone(conn: AsyncConnection, merchant_id: int, store_id: int | None) -> ZoneInfo:
    """The zone "today" is judged in: the store's, else the merchant's first store's."""
    if store_id is not None:
        zone = await orders_sql.store_of_merchant(conn, merchant_id, store_id)
        if zone is None:
            raise UserInputError("filter.storeId", "this is not a store of the merchant")
    else:
        zone = await orders_sql.first_store_zone(conn, merchant_id)
    return ZoneInfo(zone or "UTC")


def _today(zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """The store's current local day as UTC instants ``[start, end)`` (23 or 25 hours long
    on a daylight-saving change)."""
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
