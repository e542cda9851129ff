"""Bookings and stock: row-locked deal reads, conditional stock moves, holds and expiry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from psycopg.errors import QueryCanceled
from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    String,
    and_,
    bindparam,
    case,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import ScalarSelect

from db.catalog_sql import any_of
from db.order_rows import BookingRow, DealForBooking
from db.rows import row_to
from db.tables import MONEY, bookings, deal_slots, deal_stores, deals, payments, stores

T = TypeVar("T")
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
    channel: str | None = None  # where it came from (migration 0011): NEARBY ... DIRECT
    partner_key_id: int | None = None


@dataclass(frozen=True, slots=True)
class Released:
    """A booking whose hold ended: its row as it now stands, its units given back."""

    booking: BookingRow


@dataclass(frozen=True, slots=True)
class ConfirmedBooking:
    """A booking just paid, with what its vouchers copy from the deal."""

    booking: BookingRow
    merchant_id: int
    deal_valid_until: datetime


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


TAKE_AND_HOLD = (
    text(
        """
    WITH taken AS (
      UPDATE deals SET remaining_quantity = remaining_quantity - :quantity
      WHERE id = :deal_id AND (remaining_quantity IS NULL OR remaining_quantity >= :quantity)
      RETURNING id
    )
    INSERT INTO bookings (user_id, deal_id, store_id, quantity, unit_price, total_price,
                          currency, status, slot_start, hold_expires_at, idempotency_key,
                          channel, partner_key_id)
    SELECT :user_id, taken.id, :store_id, :quantity, :unit_price, :unit_price * :quantity,
           :currency, 'HELD', :slot_start,
           now() + make_interval(secs => :hold_seconds), :idempotency_key,
           :channel, :partner_key_id
    FROM taken
    RETURNING {columns}
    """.format(columns=", ".join(BookingRow.__dataclass_fields__))
    )
    .bindparams(
        bindparam("quantity", type_=Integer),
        bindparam("deal_id", type_=BigInteger),
        bindparam("store_id", type_=BigInteger),
        bindparam("unit_price", type_=MONEY),
        bindparam("slot_start", type_=DateTime(timezone=True)),
        bindparam("hold_seconds", type_=Integer),
        bindparam("channel", type_=String),
        bindparam("partner_key_id", type_=BigInteger),
    )
    .columns(*BOOKING_COLUMNS)
)


async def take_and_hold(conn: AsyncConnection, new: NewBooking) -> BookingRow | None:
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
            "channel": new.channel,
            "partner_key_id": new.partner_key_id,
        },
    )
    row = result.mappings().first()
    return None if row is None else row_to(BookingRow, row)


async def booking_by_key(conn: AsyncConnection, user_id: str, key: str) -> BookingRow | None:
    result = await conn.execute(
        select(*BOOKING_COLUMNS).where(
            bookings.c.user_id == user_id, bookings.c.idempotency_key == key
        )
    )
    row = result.mappings().first()
    return None if row is None else row_to(BookingRow, row)


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
) -> BookingRow | None:
    """The booking as changed; None when its status was not one of ``was``."""
    values: dict[str, object] = {"status": status}
    if reason is not None:
        values["cancel_reason"] = reason
    result = await conn.execute(
        update(bookings)
        .where(bookings.c.id == booking_id, bookings.c.status.in_(list(was)))
        .values(**values)
        .returning(*BOOKING_COLUMNS)
    )
    row = result.mappings().first()
    return None if row is None else row_to(BookingRow, row)


async def confirm_held(conn: AsyncConnection, booking_id: int) -> ConfirmedBooking | None:
    """HELD -> CONFIRMED (the update takes the row lock) with the deal's merchant and end,
    in one statement; None when the booking is not HELD."""
    result = await conn.execute(
        update(bookings)
        .where(bookings.c.id == booking_id, bookings.c.status == "HELD")
        .values(status="CONFIRMED")
        .returning(
            *BOOKING_COLUMNS,
            _of_the_deal(deals.c.merchant_id).label("merchant_id"),
            _of_the_deal(voucher_expiry()).label("deal_valid_until"),
        )
    )
    row = result.mappings().first()
    if row is None:
        return None
    return ConfirmedBooking(row_to(BookingRow, row), row["merchant_id"], row["deal_valid_until"])


def voucher_expiry() -> ColumnElement[datetime]:
    """When a voucher paid now expires: ``voucher_valid_days`` after payment, else at the
    end of the deal's sale window."""
    days = deals.c.voucher_valid_days
    return case(
        (days.is_(None), deals.c.valid_until),
        else_=func.now() + func.make_interval(0, 0, 0, days),
    )


def _of_the_deal(column: ColumnElement[T]) -> ScalarSelect[T]:
    """A column of the booking's deal, read in the statement that changes the booking."""
    return (
        select(column).where(deals.c.id == bookings.c.deal_id).correlate(bookings).scalar_subquery()
    )


async def release_hold(
    conn: AsyncConnection, booking_id: int, status: str, reason: str
) -> Released | None:
    """End a HELD booking and give its units back, exactly once: the status change is
    conditional, so a second caller (sweeper, cancel, decline) finds nothing to release."""
    result = await conn.execute(
        update(bookings)
        .where(bookings.c.id == booking_id, bookings.c.status == "HELD")
        .values(status=status, stock_released_at=func.now(), cancel_reason=reason)
        .returning(*BOOKING_COLUMNS)
    )
    row = result.mappings().first()
    if row is None:
        return None
    released = Released(row_to(BookingRow, row))
    await return_stock(conn, released)
    return released


async def return_stock(conn: AsyncConnection, released: Released) -> None:
    booking = released.booking
    remaining = deals.c.remaining_quantity
    await conn.execute(
        update(deals)
        .where(deals.c.id == booking.deal_id, remaining.is_not(None))
        .values(remaining_quantity=remaining + booking.quantity)
    )
    if booking.slot_start is not None:
        await conn.execute(
            update(deal_slots)
            .where(
                deal_slots.c.deal_id == booking.deal_id,
                deal_slots.c.slot_start == booking.slot_start,
            )
            .values(remaining=deal_slots.c.remaining + booking.quantity)
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


PAID_STATUSES = ("CONFIRMED", "COMPLETED", "CANCELLED", "EXPIRED")


async def settle_status(
    conn: AsyncConnection, booking_id: int, status: str, reason: str | None
) -> BookingRow | None:
    """Set a paid booking's status and ``cancel_reason`` (None clears it); None when the
    booking never was paid (a released hold keeps its end)."""
    result = await conn.execute(
        update(bookings)
        .where(
            bookings.c.id == booking_id,
            bookings.c.status.in_(PAID_STATUSES),
            bookings.c.stock_released_at.is_(None),
        )
        .values(status=status, cancel_reason=reason)
        .returning(*BOOKING_COLUMNS)
    )
    row = result.mappings().first()
    return None if row is None else row_to(BookingRow, row)


async def lock_deal_terms(conn: AsyncConnection, deal_id: int) -> DealForBooking | None:
    """The deal under its row lock (the lock ``bookDeal`` takes), with the database clock."""
    statement = (
        select(
            *(deals.c[n] for n in DealForBooking.__dataclass_fields__ if n != "now"),
            func.now().label("now"),
        )
        .where(deals.c.id == deal_id)
        .with_for_update(key_share=True)
    )
    row = (await conn.execute(statement)).mappings().first()
    return None if row is None else row_to(DealForBooking, row)


async def restock(conn: AsyncConnection, booking: BookingRow, units: int) -> None:
    """Put ``units`` of a booking back on sale (never above the deal's total), and into its
    time slot while that is still ahead."""
    remaining, total = deals.c.remaining_quantity, deals.c.total_quantity
    await conn.execute(
        update(deals)
        .where(deals.c.id == booking.deal_id, remaining.is_not(None))
        .values(remaining_quantity=func.least(remaining + units, total))
    )
    if booking.slot_start is not None:
        await conn.execute(
            update(deal_slots)
            .where(
                deal_slots.c.deal_id == booking.deal_id,
                deal_slots.c.slot_start == booking.slot_start,
                deal_slots.c.slot_start > func.now(),
            )
            .values(remaining=func.least(deal_slots.c.remaining + units, deal_slots.c.capacity))
        )
