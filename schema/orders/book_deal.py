"""``bookDeal``: hold units of a deal for the caller until paid (or the hold expires)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.orders.booking import BookingRequest, book_deal
from schema.caller import caller_and_services, int_id
from schema.orders.types import Booking
from schema.types import ContextInfo


@strawberry.input
class BookDealInput:
    deal_id: strawberry.ID
    store_id: strawberry.ID | None = strawberry.field(
        default=None, description="One of the deal's stores; may be left out when it has one."
    )
    quantity: int = 1
    slot_start: datetime | None = strawberry.field(
        default=None, description="Start of the time slot, for deals booked by slot."
    )
    idempotency_key: str = strawberry.field(
        description="Client-chosen; replaying it returns the first result."
    )


@strawberry.type
class BookDealSuccess:
    booking: Booking


@strawberry.type(description="Not on sale now (not started, ended, or at no store).")
class DealUnavailable:
    message: str


@strawberry.type(description="Not enough units (or slot capacity) left.")
class SoldOut:
    message: str


@strawberry.type(description="The booking does not fit the deal (quantity, store, slot).")
class InvalidInput:
    message: str
    field: str


@strawberry.type(description="The caller already holds or bought as many as one customer may.")
class PerUserLimitReached:
    message: str
    limit: int


BookDealResult = Annotated[
    BookDealSuccess | DealUnavailable | SoldOut | InvalidInput | PerUserLimitReached,
    strawberry.union("BookDealResult"),
]


async def resolve_book_deal(info: ContextInfo, input: BookDealInput) -> BookDealResult:
    principal, services = caller_and_services(info)
    request = BookingRequest(
        deal_id=int_id(input.deal_id, "Deal", "input.dealId"),
        store_id=None
        if input.store_id is None
        else int_id(input.store_id, "Store", "input.storeId"),
        quantity=input.quantity,
        slot_start=input.slot_start,
        idempotency_key=input.idempotency_key,
    )
    outcome = await book_deal(info.context.database, services, principal, request)
    match outcome:
        case outcomes.BookDealSuccess(booking):
            info.context.loaders.booking.prime(booking.id, booking)
            return BookDealSuccess(booking=Booking.from_row(booking))
        case outcomes.DealUnavailable(message):
            return DealUnavailable(message=message)
        case outcomes.SoldOut(message):
            return SoldOut(message=message)
        case outcomes.InvalidInput(message, field):
            return InvalidInput(message=message, field=field)
        case outcomes.PerUserLimitReached(message, limit):
            return PerUserLimitReached(message=message, limit=limit)
