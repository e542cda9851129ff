"""``bookDeal``: hold units of a deal for the caller until paid (or the hold expires)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.orders.booking import BookingRequest, book_deal
from schema.caller import caller_and_services, int_id
from schema.failures import Refusal, error_code
from schema.orders.types import Booking
from schema.types import ContextInfo


@strawberry.input(description="What to book: units of one deal, at one store, maybe in a slot.")
class BookDealInput:
    deal_id: strawberry.ID = strawberry.field(description="Global ID of the Deal to book.")
    store_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Global ID of one of the deal's stores. Optional: left out, the booking is "
        "for the deal's only store, or for any of its stores when it has several.",
    )
    quantity: int = strawberry.field(
        default=1,
        description="Units (one voucher each), 1 to the server's maximum (20 by default); "
        "together with earlier bookings at most the deal's perUserLimit.",
    )
    slot_start: datetime | None = strawberry.field(
        default=None,
        description="Start of the time slot (with UTC offset), required for deals sold by "
        "slot and refused for the others; must be a future slot of the deal.",
    )
    idempotency_key: str = strawberry.field(
        description="Client-chosen key (e.g. a UUID) of this attempt; replaying it with the "
        "same input returns the first result, with another input is BAD_USER_INPUT."
    )
    attribution: str | None = strawberry.field(
        default=None,
        description="The attribution token of the result the deal was found in (nearbyDeals,"
        " searchDeals, dealsInView): the booking and its redemptions count for that channel"
        " and partner. A forged, stale (over 7 days) or other deal's token is ignored.",
    )


@strawberry.type(description="The units are HELD for the caller until holdExpiresAt: pay them.")
class BookDealSuccess:
    booking: Booking = strawberry.field(description="The new booking, status HELD.")


@strawberry.type(
    description="Not on sale now: not started yet, ended, or offered at no store. Nothing held."
)
class DealUnavailable(Refusal):
    code: str = error_code("DEAL_UNAVAILABLE")


@strawberry.type(
    description="Not enough units left (or the time slot is full); message says how many "
    "remain. Nothing held."
)
class SoldOut(Refusal):
    code: str = error_code("SOLD_OUT")


@strawberry.type(
    description="Well-formed input that does not fit; nothing was held or changed. bookDeal: "
    "quantity out of range, a store the deal is not valid at, a missing, unknown or past slot. "
    "Merchant mutations: e.g. a sale window that is over, an unknown category, a store of "
    "another merchant, fewer units than were sold, a step the deal's status does not allow."
)
class InvalidInput(Refusal):
    code: str = error_code("INVALID_INPUT")
    field: str = strawberry.field(
        description="The input field at fault. bookDeal: quantity, storeId or slotStart; "
        "merchant mutations: its path, e.g. input.saleEndsAt (input: the input as a whole)."
    )


@strawberry.type(
    description="The caller already holds or bought (HELD, CONFIRMED or COMPLETED bookings) so "
    "many units that this booking would exceed the deal's perUserLimit. Nothing held."
)
class PerUserLimitReached(Refusal):
    code: str = error_code("PER_USER_LIMIT_REACHED")
    limit: int = strawberry.field(description="The deal's perUserLimit (units per customer).")


BookDealResult = Annotated[
    BookDealSuccess | DealUnavailable | SoldOut | InvalidInput | PerUserLimitReached,
    strawberry.union(
        "BookDealResult",
        description="What bookDeal did: BookDealSuccess, or an Error member saying why not.",
    ),
]


async def resolve_book_deal(
    info: ContextInfo,
    input: Annotated[BookDealInput, strawberry.argument(description="What to book.")],
) -> BookDealResult:
    principal, services = caller_and_services(info)
    request = BookingRequest(
        deal_id=int_id(input.deal_id, "Deal", "input.dealId"),
        store_id=None
        if input.store_id is None
        else int_id(input.store_id, "Store", "input.storeId"),
        quantity=input.quantity,
        slot_start=input.slot_start,
        idempotency_key=input.idempotency_key,
        attribution=input.attribution,
        partner_key_id=info.context.partner_key_id,
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
