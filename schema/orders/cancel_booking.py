"""``cancelBooking``: release a HELD booking, or refund a paid one's unredeemed vouchers."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.orders.cancelling import cancel_booking
from schema.caller import caller_and_services, int_id
from schema.orders.types import Booking, Refund
from schema.types import ContextInfo


@strawberry.input
class CancelBookingInput:
    booking_id: strawberry.ID
    reason: str | None = None


@strawberry.type
class BookingCancelled:
    booking: Booking
    refund: Refund | None = strawberry.field(description="null when nothing had been paid.")


@strawberry.type(description="Already ended, fully redeemed, or a payment is in progress.")
class NotCancellable:
    message: str


CancelBookingResult = Annotated[
    BookingCancelled | NotCancellable, strawberry.union("CancelBookingResult")
]


async def resolve_cancel_booking(
    info: ContextInfo, input: CancelBookingInput
) -> CancelBookingResult:
    principal, services = caller_and_services(info)
    booking_id = int_id(input.booking_id, "Booking", "input.bookingId")
    database = info.context.database
    match await cancel_booking(database, services, principal, booking_id, input.reason):
        case outcomes.BookingCancelled(booking, refund):
            info.context.loaders.booking.prime(booking.id, booking)
            return BookingCancelled(
                booking=Booking.from_row(booking),
                refund=None if refund is None else Refund.from_row(refund),
            )
        case outcomes.NotCancellable(message):
            return NotCancellable(message=message)
