"""``cancelBooking``: release a HELD booking, or refund a paid one's unredeemed vouchers."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.orders.cancelling import cancel_booking
from schema.caller import caller_and_services, int_id
from schema.failures import Refusal, error_code
from schema.orders.types import Booking, Refund
from schema.types import ContextInfo


@strawberry.input(description="Which of the caller's bookings to cancel, and why.")
class CancelBookingInput:
    booking_id: strawberry.ID = strawberry.field(description="Global ID of the caller's Booking.")
    reason: str | None = strawberry.field(
        default=None, description="Free text kept with the booking, at most 500 characters."
    )


@strawberry.type(
    description="Done. A HELD booking was released (CANCELLED, units back on sale); a paid one "
    "had its unredeemed vouchers REFUNDED and ends CANCELLED, or COMPLETED when some vouchers "
    "had been redeemed."
)
class BookingCancelled:
    booking: Booking = strawberry.field(description="The booking as it is now.")
    refund: Refund | None = strawberry.field(
        description="The refund of the unredeemed vouchers; null when nothing had been paid. "
        "It may still be PENDING: the provider is asked again until it answers."
    )


@strawberry.type(
    description="Nothing to cancel or refund: the booking already ended (CANCELLED, EXPIRED), "
    "every voucher was redeemed or refunded, a payment is in progress, or the provider "
    "refused the refund (nothing changed, try again)."
)
class NotCancellable(Refusal):
    code: str = error_code("NOT_CANCELLABLE")


CancelBookingResult = Annotated[
    BookingCancelled | NotCancellable,
    strawberry.union(
        "CancelBookingResult",
        description="What cancelBooking did: BookingCancelled, or NotCancellable.",
    ),
]


async def resolve_cancel_booking(
    info: ContextInfo,
    input: Annotated[CancelBookingInput, strawberry.argument(description="What to cancel.")],
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
