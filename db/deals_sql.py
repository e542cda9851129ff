"""Deals written by their merchant's staff: insert, lock for a versioned change, the stores a
deal is valid at, and stock moves. Rows come back as :class:`~db.rows.DealRow`.

Every change of a deal's row takes its row lock first (``FOR NO KEY UPDATE``, the lock
``bookDeal`` takes in ``db/bookings_sql.py``), so a merchant's write and a customer's
booking of the same deal run one after the other, never interleaved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.bookings_sql import ACTIVE
from db.catalog_sql import DEAL_COLUMNS
from db.rows import DealRow, row_to
from db.tables import bookings, deal_stores, deals, stores


@dataclass(frozen=True, slots=True)
class DealValues:
    """Every column staff set on a deal (status, version and stock are moved separately)."""

    title: str
    description: str
    category_slug: str | None
    price: Decimal
    original_price: Decimal | None
    currency: str
    valid_from: datetime
    valid_until: datetime
    voucher_valid_days: int | None
    per_user_limit: int
    requires_booking: bool
    usage_rules: str | None


@dataclass(frozen=True, slots=True)
class Stock:
    total_quantity: int | None
    remaining_quantity: int | None


async def insert_deal(
    conn: AsyncConnection,
    merchant_id: int,
    external_key: str,
    values: DealValues,
    stock: Stock,
    status: str,
) -> DealRow:
    result = await conn.execute(
        insert(deals)
        .values(
            merchant_id=merchant_id,
            external_key=external_key,
            status=status,
            **asdict(values),
            **asdict(stock),
        )
        .returning(*DEAL_COLUMNS)
    )
    row: DealRow = row_to(DealRow, result.mappings().one())
    return row


async def lock_deal(conn: AsyncConnection, deal_id: int) -> DealRow | None:
    """The deal as it is, its row locked until the transaction ends (None: no such deal)."""
    result = await conn.execute(
        select(*DEAL_COLUMNS).where(deals.c.id == deal_id).with_for_update(key_share=True)
    )
    row = result.mappings().first()
    return None if row is None else row_to(DealRow, row)


async def read_deal(conn: AsyncConnection, deal_id: int) -> DealRow:
    result = await conn.execute(select(*DEAL_COLUMNS).where(deals.c.id == deal_id))
    row: DealRow = row_to(DealRow, result.mappings().one())
    return row


async def deal_merchant(conn: AsyncConnection, deal_id: int) -> int | None:
    result = await conn.execute(select(deals.c.merchant_id).where(deals.c.id == deal_id))
    return result.scalar_one_or_none()


async def update_deal(
    conn: AsyncConnection, deal_id: int, values: DealValues, stock: Stock
) -> DealRow:
    """Write the values and the stock, and move to the next version (under the row lock)."""
    result = await conn.execute(
        update(deals)
        .where(deals.c.id == deal_id)
        .values(version=deals.c.version + 1, **asdict(values), **asdict(stock))
        .returning(*DEAL_COLUMNS)
    )
    row: DealRow = row_to(DealRow, result.mappings().one())
    return row


async def set_status(conn: AsyncConnection, deal_id: int, status: str) -> DealRow:
    result = await conn.execute(
        update(deals)
        .where(deals.c.id == deal_id)
        .values(status=status, version=deals.c.version + 1)
        .returning(*DEAL_COLUMNS)
    )
    row: DealRow = row_to(DealRow, result.mappings().one())
    return row


async def adjust_stock(conn: AsyncConnection, deal_id: int, delta: int) -> DealRow | None:
    """Add ``delta`` to the total and the remaining units in one conditional statement; None
    when the deal's stock is not limited or the remaining units would go below zero."""
    remaining = deals.c.remaining_quantity
    result = await conn.execute(
        update(deals)
        .where(deals.c.id == deal_id, remaining.is_not(None), remaining + delta >= 0)
        .values(
            total_quantity=deals.c.total_quantity + delta,
            remaining_quantity=remaining + delta,
            version=deals.c.version + 1,
        )
        .returning(*DEAL_COLUMNS)
    )
    row = result.mappings().first()
    return None if row is None else row_to(DealRow, row)


async def store_ids_of_merchant(
    conn: AsyncConnection, merchant_id: int, store_ids: Sequence[int]
) -> set[int]:
    """Those of ``store_ids`` that are stores of ``merchant_id``."""
    result = await conn.execute(
        select(stores.c.id).where(
            stores.c.merchant_id == merchant_id, stores.c.id == func.any(list(store_ids))
        )
    )
    return set(result.scalars())


async def set_deal_stores(conn: AsyncConnection, deal_id: int, store_ids: Sequence[int]) -> None:
    """Make ``store_ids`` exactly the deal's stores (links not named are removed)."""
    await conn.execute(
        delete(deal_stores).where(
            deal_stores.c.deal_id == deal_id, deal_stores.c.store_id != func.all(list(store_ids))
        )
    )
    await conn.execute(
        pg_insert(deal_stores).on_conflict_do_nothing(),
        [{"deal_id": deal_id, "store_id": store_id} for store_id in store_ids],
    )


async def active_quantity(conn: AsyncConnection, deal_id: int) -> int:
    """Units held or bought (HELD, CONFIRMED, COMPLETED bookings) of the deal."""
    result = await conn.execute(
        select(func.coalesce(func.sum(bookings.c.quantity), 0)).where(
            bookings.c.deal_id == deal_id, bookings.c.status.in_(ACTIVE)
        )
    )
    return int(result.scalar_one())
