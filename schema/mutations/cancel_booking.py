"""``cancelBooking``: release a HELD booking, or refund a paid one's unredeemed vouchers."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.cancelling import cancel_booking
from schema.loop_types import Booking, Refund
from schema.mutations.common import caller, int_id
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
    principal, loop = caller(info)
    booking_id = int_id(input.booking_id, "Booking", "input.bookingId")
    outcome = await cancel_booking(loop, principal, booking_id, input.reason)
    if isinstance(outcome, outcomes.NotCancellable):
        return NotCancellable(message=outcome.message)
    booking_row = await info.context.loop_loaders.booking.load(outcome.booking_id)
    assert booking_row is not None
    refund = None
    if outcome.refund_id is not None:
        refund_row = await info.context.loop_loaders.refund.load(outcome.refund_id)
        refund = None if refund_row is None else Refund.from_row(refund_row)
    return BookingCancelled(booking=Booking.from_row(booking_row), refund=refund)
