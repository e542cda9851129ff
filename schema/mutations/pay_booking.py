"""``payBooking``: pay a HELD booking through the payment provider; vouchers on success."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.payments.flow import PayRequest, pay_booking
from schema.loop_types import Booking, Payment, Voucher
from schema.mutations.common import caller, int_id
from schema.types import ContextInfo


@strawberry.input
class PayBookingInput:
    booking_id: strawberry.ID
    payment_method: str = strawberry.field(
        description="Provider payment method; sandbox: pm_card_visa, pm_card_chargeDeclined, "
        "pm_card_authenticationRequired."
    )
    idempotency_key: str


@strawberry.type
class PaymentSucceeded:
    booking: Booking
    payment: Payment
    vouchers: list[Voucher]


@strawberry.type(description="The provider declined; the held units were released.")
class PaymentDeclined:
    message: str
    booking: Booking
    payment: Payment


@strawberry.type(
    description="The customer must authenticate (e.g. 3-D Secure) at nextActionUrl; the "
    "provider confirms by webhook and the booking then shows CONFIRMED with its vouchers."
)
class PaymentRequiresAction:
    message: str
    next_action_url: str | None
    booking: Booking
    payment: Payment


@strawberry.type(
    description="The provider has not answered yet: nothing was decided. Replay with the same "
    "idempotencyKey; the units stay held until the provider answers or the grace period ends."
)
class PaymentPending:
    message: str
    booking: Booking
    payment: Payment


@strawberry.type(description="Not HELD any more, hold expired, or already paid.")
class BookingNotPayable:
    message: str


PayBookingResult = Annotated[
    PaymentSucceeded | PaymentDeclined | PaymentRequiresAction | PaymentPending | BookingNotPayable,
    strawberry.union("PayBookingResult"),
]


async def resolve_pay_booking(info: ContextInfo, input: PayBookingInput) -> PayBookingResult:
    principal, loop = caller(info)
    request = PayRequest(
        booking_id=int_id(input.booking_id, "Booking", "input.bookingId"),
        payment_method=input.payment_method,
        idempotency_key=input.idempotency_key,
    )
    outcome = await pay_booking(loop, principal, request)
    if isinstance(outcome, outcomes.NotPayable):
        return BookingNotPayable(message=outcome.message)
    loaders = info.context.loop_loaders
    booking_row = await loaders.booking.load(outcome.booking_id)
    payment_row = await loaders.payment_of_booking.load(outcome.booking_id)
    assert booking_row is not None
    assert payment_row is not None
    booking, payment = Booking.from_row(booking_row), Payment.from_row(payment_row)
    match outcome:
        case outcomes.Paid():
            rows = await loaders.vouchers_of_booking.load(outcome.booking_id) or []
            vouchers = [Voucher.from_row(row, loop.config.voucher_key) for row in rows]
            return PaymentSucceeded(booking=booking, payment=payment, vouchers=vouchers)
        case outcomes.Declined(message):
            return PaymentDeclined(message=message, booking=booking, payment=payment)
        case outcomes.ActionRequired(message, _, _, url):
            return PaymentRequiresAction(
                message=message, next_action_url=url, booking=booking, payment=payment
            )
        case outcomes.Processing(message):
            return PaymentPending(message=message, booking=booking, payment=payment)
