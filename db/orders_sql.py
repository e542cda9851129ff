"""A merchant's orders: the bookings of its deals, newest first, in keyset pages.

"At a store" means booked there, or booked without a store for a deal valid there (a deal
of several stores lets the customer leave the store open).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.bookings_sql import BOOKING_COLUMNS
from db.order_rows import BookingRow
from db.rows import row_to
from db.tables import bookings, deal_stores, deals, stores


@dataclass(frozen=True, slots=True)
class OrderCriteria:
    merchant_id: int
    status: str | None = None
    deal_id: int | None = None
    store_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    day: tuple[datetime, datetime] | None = None  # booked or slotted in [start, end)


def _conditions(criteria: OrderCriteria) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [deals.c.merchant_id == criteria.merchant_id]
    if criteria.status is not None:
        conditions.append(bookings.c.status == criteria.status)
    if criteria.deal_id is not None:
        conditions.append(bookings.c.deal_id == criteria.deal_id)
    if criteria.store_id is not None:
        conditions.append(_at_store(criteria.store_id))
    if criteria.created_from is not None:
        conditions.append(bookings.c.created_at >= criteria.created_from)
    if criteria.created_to is not None:
        conditions.append(bookings.c.created_at < criteria.created_to)
    if criteria.day is not None:
        start, end = criteria.day
        conditions.append(
            or_(
                and_(bookings.c.created_at >= start, bookings.c.created_at < end),
                and_(bookings.c.slot_start >= start, bookings.c.slot_start < end),
            )
        )
    return conditions


def _at_store(store_id: int) -> ColumnElement[bool]:
    valid_there = exists().where(
        deal_stores.c.deal_id == bookings.c.deal_id, deal_stores.c.store_id == store_id
    )
    return or_(bookings.c.store_id == store_id, and_(bookings.c.store_id.is_(None), valid_there))


async def orders_page(
    conn: AsyncConnection, criteria: OrderCriteria, before_id: int | None, limit: int
) -> list[BookingRow]:
    """Up to ``limit`` orders matching ``criteria`` with ids below ``before_id``, newest first."""
    query = (
        select(*BOOKING_COLUMNS)
        .join(deals, deals.c.id == bookings.c.deal_id)
        .where(*_conditions(criteria))
    )
    if before_id is not None:
        query = query.where(bookings.c.id < before_id)
    result = await conn.execute(query.order_by(bookings.c.id.desc()).limit(limit))
    return [row_to(BookingRow, row) for row in result.mappings()]


async def count_orders(conn: AsyncConnection, criteria: OrderCriteria) -> int:
    result = await conn.execute(
        select(func.count())
        .select_from(bookings)
        .join(deals, deals.c.id == bookings.c.deal_id)
        .where(*_conditions(criteria))
    )
    return int(result.scalar_one())


async def store_of_merchant(conn: AsyncConnection, merchant_id: int, store_id: int) -> str | None:
    """The store's time zone when it is one of the merchant's; None otherwise."""
    result = await conn.execute(
        select(stores.c.timezone).where(
            stores.c.id == store_id, stores.c.merchant_id == merchant_id
        )
    )
    return result.scalar_one_or_none()


async def first_store_zone(conn: AsyncConnection, merchant_id: int) -> str | None:
    """The time zone of the merchant's first store (None: it has none)."""
    result = await conn.execute(
        select(stores.c.timezone)
        .where(stores.c.merchant_id == merchant_id)
        .order_by(stores.c.id)
        .limit(1)
    )
    return result.scalar_one_or_none()
