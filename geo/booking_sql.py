"""Bookings and stock: row-locked deal reads, conditional stock moves, holds and expiry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from psycopg.errors import QueryCanceled
from sqlalchemy import BigInteger, DateTime, Integer, and_, bindparam, func, select, text, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from geo.lookup import any_of
from geo.loop_rows import BookingRow, DealForBooking
from geo.rows import row_to
from geo.tables import MONEY, bookings, deal_slots, deal_stores, deals, payments, stores

ACTIVE = ("HELD", "CONFIRMED", "COMPLETED")
BOOKING_COLUMNS = tuple(bookings.c[name] for name in BookingRow.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class NewBooking:
    user_id: str
    deal_id: int
    store_id: int | None
    quantity: int
    unit_price: Decimal
    currency: str
    slot_start: datetime | None
    hold_seconds: int
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Released:
    deal_id: int
    quantity: int
    slot_start: datetime | None


class DealLockBusyError(RuntimeError):
    """The row lock was not granted within the lock timeout (a very busy deal)."""


async def read_deal(
    conn: AsyncConnection, deal_id: int, *, lock_timeout_ms: int | None = None
) -> DealForBooking | None:
    """The deal, with the database clock. With ``lock_timeout_ms``, under a row lock, so
    that every booking of one deal runs its critical section one after the other; waiting
    longer than that raises :class:`DealLockBusyError` (the transaction is then aborted)."""
    statement = select(
        *(deals.c[n] for n in DealForBooking.__dataclass_fields__ if n != "now"),
        func.now().label("now"),
    ).where(deals.c.id == deal_id)
    if lock_timeout_ms is not None:
        # A deadline for the whole wait: in a queue of lockers each wait is a new lock
        # acquisition, so lock_timeout (per wait) would let the total exceed it many times.
        await conn.execute(text(f"SET LOCAL statement_timeout = {int(lock_timeout_ms)}"))
        statement = statement.with_for_update(key_share=True)
    try:
        row = (await conn.execute(statement)).mappings().first()
    except OperationalError as error:
        if lock_timeout_ms is not None and isinstance(error.orig, QueryCanceled):
            raise DealLockBusyError(f"deal {deal_id} is locked by other bookings") from error
        raise
    return None if row is None else row_to(DealForBooking, row)


async def deal_store_ids(conn: AsyncConnection, deal_id: int) -> list[int]:
    result = await conn.execute(
        select(deal_stores.c.store_id)
        .where(deal_stores.c.deal_id == deal_id)
        .order_by(deal_stores.c.store_id)
    )
    return list(result.scalars())


async def store_merchant(conn: AsyncConnection, store_id: int) -> int | None:
    result = await conn.execute(select(stores.c.merchant_id).where(stores.c.id == store_id))
    return result.scalar_one_or_none()


async def booked_quantity(conn: AsyncConnection, user_id: str, deal_id: int) -> int:
    result = await conn.execute(
        select(func.coalesce(func.sum(bookings.c.quantity), 0)).where(
            bookings.c.user_id == user_id,
            bookings.c.deal_id == deal_id,
            bookings.c.status.in_(ACTIVE),
        )
    )
    return int(result.scalar_one())


async def deal_has_slots(conn: AsyncConnection, deal_id: int) -> bool:
    result = await conn.execute(
        select(func.count()).select_from(deal_slots).where(deal_slots.c.deal_id == deal_id)
    )
    return int(result.scalar_one()) > 0


async def take_slot(
    conn: AsyncConnection, deal_id: int, slot_start: datetime, quantity: int
) -> bool | None:
    """Take ``quantity`` of a slot's capacity: None when there is no such slot."""
    key = and_(deal_slots.c.deal_id == deal_id, deal_slots.c.slot_start == slot_start)
    exists = await conn.execute(select(deal_slots.c.remaining).where(key).with_for_update())
    if exists.first() is None:
        return None
    result = await conn.execute(
        update(deal_slots)
        .where(key, deal_slots.c.remaining >= quantity)
        .values(remaining=deal_slots.c.remaining - quantity)
        .returning(deal_slots.c.deal_id)
    )
    return result.first() is not None


TAKE_AND_HOLD = text(
    """
    WITH taken AS (
      UPDATE deals SET remaining_quantity = remaining_quantity - :quantity
      WHERE id = :deal_id AND (remaining_quantity IS NULL OR remaining_quantity >= :quantity)
      RETURNING id
    )
    INSERT INTO bookings (user_id, deal_id, store_id, quantity, unit_price, total_price,
                          currency, status, slot_start, hold_expires_at, idempotency_key)
    SELECT :user_id, taken.id, :store_id, :quantity, :unit_price, :unit_price * :quantity,
           :currency, 'HELD', :slot_start,
           now() + make_interval(secs => :hold_seconds), :idempotency_key
    FROM taken
    RETURNING id
    """
).bindparams(
    bindparam("quantity", type_=Integer),
    bindparam("deal_id", type_=BigInteger),
    bindparam("store_id", type_=BigInteger),
    bindparam("unit_price", type_=MONEY),
    bindparam("slot_start", type_=DateTime(timezone=True)),
    bindparam("hold_seconds", type_=Integer),
)


async def take_and_hold(conn: AsyncConnection, new: NewBooking) -> int | None:
    """Take the units (conditional decrement) and insert the HELD booking in one statement;
    None when the stock does not cover the quantity."""
    result = await conn.execute(
        TAKE_AND_HOLD,
        {
            "quantity": new.quantity,
            "deal_id": new.deal_id,
            "store_id": new.store_id,
            "unit_price": new.unit_price,
            "slot_start": new.slot_start,
            "hold_seconds": new.hold_seconds,
            "user_id": new.user_id,
            "currency": new.currency,
            "idempotency_key": new.idempotency_key,
        },
    )
    booking_id = result.scalar_one_or_none()
    return None if booking_id is None else int(booking_id)


async def booking_id_by_key(conn: AsyncConnection, user_id: str, key: str) -> int | None:
    result = await conn.execute(
        select(bookings.c.id).where(
            bookings.c.user_id == user_id, bookings.c.idempotency_key == key
        )
    )
    return result.scalar_one_or_none()


async def lock_booking(conn: AsyncConnection, booking_id: int) -> BookingRow | None:
    result = await conn.execute(
        select(*BOOKING_COLUMNS).where(bookings.c.id == booking_id).with_for_update(key_share=True)
    )
    row = result.mappings().first()
    return None if row is None else row_to(BookingRow, row)


async def hold_is_live(conn: AsyncConnection, booking_id: int) -> bool:
    result = await conn.execute(
        select(bookings.c.id).where(
            bookings.c.id == booking_id,
            bookings.c.status == "HELD",
            bookings.c.hold_expires_at > func.now(),
        )
    )
    return result.first() is not None


async def set_status(
    conn: AsyncConnection, booking_id: int, status: str, *, was: Sequence[str], reason: str | None
) -> bool:
    values: dict[str, object] = {"status": status}
    if reason is not None:
        values["cancel_reason"] = reason
    result = await conn.execute(
        update(bookings)
        .where(bookings.c.id == booking_id, bookings.c.status.in_(list(was)))
        .values(**values)
        .returning(bookings.c.id)
    )
    return result.first() is not None


async def release_hold(
    conn: AsyncConnection, booking_id: int, status: str, reason: str
) -> Released | None:
    """End a HELD booking and give its units back, exactly once: the status change is
    conditional, so a second caller (sweeper, cancel, decline) finds nothing to release."""
    result = await conn.execute(
        update(bookings)
        .where(bookings.c.id == booking_id, bookings.c.status == "HELD")
        .values(status=status, stock_released_at=func.now(), cancel_reason=reason)
        .returning(bookings.c.deal_id, bookings.c.quantity, bookings.c.slot_start)
    )
    row = result.first()
    if row is None:
        return None
    released = Released(deal_id=row.deal_id, quantity=row.quantity, slot_start=row.slot_start)
    await return_stock(conn, released)
    return released


async def return_stock(conn: AsyncConnection, released: Released) -> None:
    remaining = deals.c.remaining_quantity
    await conn.execute(
        update(deals)
        .where(deals.c.id == released.deal_id, remaining.is_not(None))
        .values(remaining_quantity=remaining + released.quantity)
    )
    if released.slot_start is not None:
        await conn.execute(
            update(deal_slots)
            .where(
                deal_slots.c.deal_id == released.deal_id,
                deal_slots.c.slot_start == released.slot_start,
            )
            .values(remaining=deal_slots.c.remaining + released.quantity)
        )


async def expired_hold_candidates(conn: AsyncConnection, limit: int) -> list[int]:
    result = await conn.execute(
        select(bookings.c.id)
        .where(bookings.c.status == "HELD", bookings.c.hold_expires_at <= func.now())
        .order_by(bookings.c.hold_expires_at, bookings.c.id)
        .limit(limit)
    )
    return list(result.scalars())


async def lock_expired_hold(conn: AsyncConnection, booking_id: int) -> bool:
    """Lock a still-expired HELD booking (skipping one another transaction holds) and say
    whether it may be released: a payment waiting for the provider keeps its hold until the
    provider answers. The payment check is a separate statement, taken after the lock, so
    it sees a payment committed by whoever held the lock before."""
    locked = await conn.execute(
        select(bookings.c.id)
        .where(
            bookings.c.id == booking_id,
            bookings.c.status == "HELD",
            bookings.c.hold_expires_at <= func.now(),
        )
        .with_for_update(key_share=True, skip_locked=True)
    )
    if locked.first() is None:
        return False
    pending = await conn.execute(
        select(payments.c.id).where(
            payments.c.booking_id == booking_id, payments.c.status == "PENDING"
        )
    )
    return pending.first() is None


async def bookings_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, BookingRow]:
    result = await conn.execute(select(*BOOKING_COLUMNS).where(any_of(bookings.c.id, ids)))
    return {row["id"]: row_to(BookingRow, row) for row in result.mappings()}


async def bookings_of_user(
    conn: AsyncConnection, user_id: str, before_id: int | None, limit: int
) -> list[BookingRow]:
    """Newest first, keyset on id."""
    query = select(*BOOKING_COLUMNS).where(bookings.c.user_id == user_id)
    if before_id is not None:
        query = query.where(bookings.c.id < before_id)
    result = await conn.execute(query.order_by(bookings.c.id.desc()).limit(limit))
    return [row_to(BookingRow, row) for row in result.mappings()]


async def count_bookings_of_user(conn: AsyncConnection, user_id: str) -> int:
    result = await conn.execute(
        select(func.count()).select_from(bookings).where(bookings.c.user_id == user_id)
    )
    return int(result.scalar_one())
