"""``payBooking``: pay a HELD booking through the payment provider; vouchers on success."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.orders.payments.flow import PayRequest, pay_booking
from commerce.orders.vouchers import VoucherView
from db.order_rows import BookingRow, PaymentRow
from schema.caller import caller_and_services, int_id
from schema.orders.types import Booking, Payment, Voucher
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
    principal, services = caller_and_services(info)
    request = PayRequest(
        booking_id=int_id(input.booking_id, "Booking", "input.bookingId"),
        payment_method=input.payment_method,
        idempotency_key=input.idempotency_key,
    )
    match await pay_booking(info.context.database, services, principal, request):
        case outcomes.PaymentSucceeded(booking, payment, vouchers):
            _prime(info, booking, payment, vouchers)
            return PaymentSucceeded(
                booking=Booking.from_row(booking),
                payment=Payment.from_row(payment),
                vouchers=[Voucher.from_view(voucher) for voucher in vouchers],
            )
        case outcomes.PaymentDeclined(message, booking, payment):
            _prime(info, booking, payment)
            return PaymentDeclined(
                message=message,
                booking=Booking.from_row(booking),
                payment=Payment.from_row(payment),
            )
        case outcomes.PaymentRequiresAction(message, url, booking, payment):
            _prime(info, booking, payment)
            return PaymentRequiresAction(
                message=message,
                next_action_url=url,
                booking=Booking.from_row(booking),
                payment=Payment.from_row(payment),
            )
        case outcomes.PaymentPending(message, booking, payment):
            _prime(info, booking, payment)
            return PaymentPending(
                message=message,
                booking=Booking.from_row(booking),
                payment=Payment.from_row(payment),
            )
        case outcomes.BookingNotPayable(message):
            return BookingNotPayable(message=message)


def _prime(
    info: ContextInfo,
    booking: BookingRow,
    payment: PaymentRow,
    vouchers: list[VoucherView] | None = None,
) -> None:
    """What the outcome holds, so ``booking { payment vouchers }`` reads nothing again."""
    loaders = info.context.loaders
    loaders.booking.prime(booking.id, booking)
    loaders.payment.prime(payment.id, payment)
    loaders.payment_of_booking.prime(booking.id, payment)
    if vouchers is not None:
        loaders.vouchers_of_booking.prime(booking.id, [voucher.row for voucher in vouchers])
