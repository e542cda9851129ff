"""``bookDeal`` and hold expiry: units are taken under the deal's row lock and held until paid.

One transaction claims the idempotency key, checks window, store and slot shape, then locks
the deal, checks stock and per-user limit, and takes the units with a conditional decrement
that inserts the HELD booking in the same statement. Failures are stored with the key and a
success is found through the booking's own key, so a replay returns the first outcome.
Little happens under the lock: on a hot deal every statement there is paid by every buyer
waiting in line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.errors import NotFoundError, UnavailableError, UserInputError
from commerce.idempotency import check_key, decode_outcome, encode_outcome, fingerprint, reused_key
from commerce.identity.principal import Principal
from commerce.insights.attribution import Attribution, Channel, attribution_key, read_token
from commerce.orders.services import OrderConfig, OrderServices
from commerce.outcomes import (
    BOOK_OUTCOMES,
    BookDealSuccess,
    BookOutcome,
    DealUnavailable,
    InvalidInput,
    PerUserLimitReached,
    SoldOut,
)
from db import bookings_sql, idempotency_sql
from db.bookings_sql import NewBooking
from db.database import Database
from db.order_rows import DealForBooking
from domain.offer import OfferState, offer_state

log = logging.getLogger("o2o.booking")
OPERATION = "bookDeal"
_UNPUBLISHED = {
    "DRAFT": "this deal is not published yet",
    "PAUSED": "this deal is paused by the merchant",
    "ENDED": "this deal has ended",
}


@dataclass(frozen=True, slots=True)
class BookingRequest:
    deal_id: int
    store_id: int | None
    quantity: int
    slot_start: datetime | None
    idempotency_key: str
    attribution: str | None = None  # a discovery result's token; ignored unless valid
    partner_key_id: int | None = None  # the partner key of the request, if any


async def book_deal(
    database: Database, services: OrderServices, principal: Principal, request: BookingRequest
) -> BookOutcome:
    key = check_key(request.idempotency_key)
    if request.slot_start is not None and request.slot_start.tzinfo is None:
        raise UserInputError("input.slotStart", "slotStart needs a UTC offset")
    stamp = fingerprint(request.deal_id, request.store_id, request.quantity, request.slot_start)
    async with database.write() as conn:
        if not await idempotency_sql.claim(conn, principal.subject, OPERATION, key, stamp):
            return await _replay(conn, principal, key, stamp)
        outcome = await _book(conn, services.config, principal, request)
        if not isinstance(outcome, BookDealSuccess):
            await idempotency_sql.store_outcome(
                conn, principal.subject, OPERATION, key, encode_outcome(outcome)
            )
    return outcome


async def _replay(conn: AsyncConnection, principal: Principal, key: str, stamp: str) -> BookOutcome:
    stored_stamp, outcome = await idempotency_sql.read(conn, principal.subject, OPERATION, key)
    if stored_stamp != stamp:
        raise reused_key()
    if outcome is None:  # a success: the booking itself carries the key
        booking = await bookings_sql.booking_by_key(conn, principal.subject, key)
        assert booking is not None  # claimed and booked in one transaction
        return BookDealSuccess(booking)
    replayed: BookOutcome = decode_outcome(outcome, BOOK_OUTCOMES)
    return replayed


async def _book(
    conn: AsyncConnection, config: OrderConfig, principal: Principal, request: BookingRequest
) -> BookOutcome:
    """Checks that need no lock first; then the deal's row lock is held for three short
    statements (lock, per-user count, take-and-hold) and the commit."""
    deal = await bookings_sql.read_deal(conn, request.deal_id)
    if deal is None:
        raise NotFoundError("no Deal with this ID")
    refusal = _offer_refusal(deal) or _quantity_refusal(config, request)
    if refusal is not None:
        return refusal
    store = await _chosen_store(conn, deal, request.store_id)
    if not isinstance(store, int | None):
        return store
    refusal = await _slot_shape_refusal(conn, deal, request.slot_start)
    if refusal is not None:
        return refusal
    source = _source(config, request, deal)
    try:
        locked = await bookings_sql.read_deal(
            conn, request.deal_id, lock_timeout_ms=config.lock_timeout_ms
        )
    except bookings_sql.DealLockBusyError as error:
        raise UnavailableError(
            "this deal is in very high demand right now; retry with the same idempotencyKey"
        ) from error
    assert locked is not None  # deals with bookings cannot be deleted
    refusal = _offer_refusal(locked) or _stock_refusal(locked, request.quantity)
    refusal = refusal or await _limit_refusal(conn, locked, principal, request.quantity)
    if refusal is not None:
        return refusal
    if request.slot_start is not None:
        taken = await bookings_sql.take_slot(conn, deal.id, request.slot_start, request.quantity)
        if taken is None:
            return InvalidInput("this deal has no slot at that time", "slotStart")
        if not taken:
            return SoldOut("this time slot is full")
    booking = await bookings_sql.take_and_hold(
        conn,
        NewBooking(
            user_id=principal.subject,
            deal_id=deal.id,
            store_id=store,
            quantity=request.quantity,
            unit_price=locked.price,
            currency=locked.currency,
            slot_start=request.slot_start,
            hold_seconds=config.hold_seconds,
            idempotency_key=request.idempotency_key,
            channel=source.channel.value,
            partner_key_id=source.partner_key_id,
        ),
    )
    if booking is None:
        raise RuntimeError(f"deal {deal.id}: stock changed under its row lock")
    return BookDealSuccess(booking)


def _offer_refusal(deal: DealForBooking) -> BookOutcome | None:
    """Why the deal is not on offer (``domain.offer``), as the outcome a buyer sees."""
    state = offer_state(deal, deal.now)
    if state is OfferState.NOT_PUBLISHED:
        return DealUnavailable(_UNPUBLISHED.get(deal.status, "this deal is not on sale"))
    if state is OfferState.NOT_YET_ON_SALE:
        return DealUnavailable(f"this deal goes on sale at {deal.valid_from.isoformat()}")
    if state is OfferState.ENDED:
        return DealUnavailable("this deal has ended")
    if state is OfferState.SOLD_OUT:
        return SoldOut("this deal is sold out")
    return None


def _quantity_refusal(config: OrderConfig, request: BookingRequest) -> BookOutcome | None:
    if not 1 <= request.quantity <= config.max_quantity:
        return InvalidInput(f"quantity must be between 1 and {config.max_quantity}", "quantity")
    return None


async def _chosen_store(
    conn: AsyncConnection, deal: DealForBooking, store_id: int | None
) -> int | BookOutcome | None:
    """The store named in the booking: one of the deal's, or the only one when not given."""
    store_ids = await bookings_sql.deal_store_ids(conn, deal.id)
    if not store_ids:
        return DealUnavailable("this deal is not offered at any store")
    if store_id is None:
        return store_ids[0] if len(store_ids) == 1 else None
    if store_id not in store_ids:
        return InvalidInput("this deal is not valid at that store", "storeId")
    return store_id


async def _slot_shape_refusal(
    conn: AsyncConnection, deal: DealForBooking, slot_start: datetime | None
) -> BookOutcome | None:
    has_slots = await bookings_sql.deal_has_slots(conn, deal.id)
    if has_slots and slot_start is None:
        return InvalidInput("this deal is booked by time slot: give slotStart", "slotStart")
    if not has_slots and slot_start is not None:
        return InvalidInput("this deal has no time slots", "slotStart")
    if slot_start is not None and slot_start <= deal.now:
        return InvalidInput("this time slot has already started", "slotStart")
    return None


async def _limit_refusal(
    conn: AsyncConnection, deal: DealForBooking, principal: Principal, quantity: int
) -> BookOutcome | None:
    booked = await bookings_sql.booked_quantity(conn, principal.subject, deal.id)
    if booked + quantity > deal.per_user_limit:
        left = max(deal.per_user_limit - booked, 0)
        message = f"at most {deal.per_user_limit} per customer; you can book {left} more"
        return PerUserLimitReached(message, deal.per_user_limit)
    return None


def _stock_refusal(deal: DealForBooking, quantity: int) -> BookOutcome | None:
    remaining = deal.remaining_quantity
    if remaining is not None and remaining < quantity:
        return SoldOut(f"only {remaining} left")
    return None


async def expire_holds(database: Database, batch: int = 200) -> int:
    """Expire HELD bookings past their hold and return their units; returns how many.

    Each booking is released in its own short transaction under its row lock, so a payment
    starting at the same moment either sees EXPIRED or keeps the hold, never both.
    """
    async with database.read() as conn:
        candidates = await bookings_sql.expired_hold_candidates(conn, batch)
    released = 0
    for booking_id in candidates:
        async with database.write() as conn:
            if await bookings_sql.lock_expired_hold(conn, booking_id) and (
                await bookings_sql.release_hold(conn, booking_id, "EXPIRED", "hold expired")
            ):
                released += 1
    if released:
        log.info("expired %d held bookings", released)
    return released


def _source(config: OrderConfig, request: BookingRequest, deal: DealForBooking) -> Attribution:
    """Where the booking came from: a valid attribution token of this deal (not older than
    7 days by the database clock), else DIRECT through the request's partner key. A forged,
    stale or other deal's token is ignored, never an error."""
    key = attribution_key(config.voucher_key)
    found = read_token(key, request.attribution, deal.id, deal.now)
    if found is not None:
        return found
    return Attribution(deal.id, Channel.DIRECT, request.partner_key_id, 0)
