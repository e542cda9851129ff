"""``payBooking``: pay a HELD booking through the payment provider; vouchers on success."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.orders.payments.flow import PayRequest, pay_booking
from commerce.orders.vouchers import VoucherView
from db.order_rows import BookingRow, PaymentRow
from schema.caller import caller_and_services, int_id
from schema.failures import Refusal, error_code
from schema.orders.types import Booking, Payment, Voucher
from schema.types import ContextInfo


@strawberry.input(description="Which HELD booking to pay, and with what.")
class PayBookingInput:
    booking_id: strawberry.ID = strawberry.field(
        description="Global ID of the caller's Booking, status HELD."
    )
    payment_method: str = strawberry.field(
        description="Provider payment method (1 to 80 characters); sandbox: pm_card_visa "
        "succeeds, pm_card_chargeDeclined is declined, pm_card_authenticationRequired "
        "requires action; stripe: a PaymentMethod id (pm_...). Any other is BAD_USER_INPUT "
        "and nothing is written."
    )
    idempotency_key: str = strawberry.field(
        description="Client-chosen key of this payment attempt; replaying it returns the same "
        "payment as it stands now, with another input is BAD_USER_INPUT. A retry after a "
        "decline is a new attempt with a new key."
    )
    return_url: str | None = strawberry.field(
        default=None,
        description="Absolute http(s) URL the customer returns to after authenticating the "
        "payment (3-D Secure), at most 2000 characters.",
    )


@strawberry.type(description="Paid: the booking is CONFIRMED and has one voucher per unit.")
class PaymentSucceeded:
    booking: Booking = strawberry.field(description="The booking, now CONFIRMED.")
    payment: Payment = strawberry.field(description="The payment, SUCCEEDED.")
    vouchers: list[Voucher] = strawberry.field(
        description="The booking's vouchers (one per unit), with their codes."
    )


@strawberry.type(
    description="The provider declined this attempt. The booking stays HELD until its hold "
    "expires: retry with another payment method and a new idempotencyKey."
)
class PaymentDeclined(Refusal):
    code: str = error_code("PAYMENT_DECLINED")
    booking: Booking = strawberry.field(
        description="The booking, still HELD until its hold expires."
    )
    payment: Payment = strawberry.field(
        description="This attempt, FAILED, with the provider's failureMessage."
    )


@strawberry.type(
    description="The customer must authenticate (e.g. 3-D Secure) at nextActionUrl; the "
    "provider confirms by webhook and the booking then shows CONFIRMED with its vouchers."
)
class PaymentRequiresAction:
    message: str = strawberry.field(description="What the customer must do, for people.")
    next_action_url: str | None = strawberry.field(
        description="Where to send the customer to authenticate; null if the provider gave none."
    )
    booking: Booking = strawberry.field(description="The booking, still HELD.")
    payment: Payment = strawberry.field(description="The payment, PENDING.")


@strawberry.type(
    description="The provider has not answered yet: nothing was decided. Replay with the same "
    "idempotencyKey; the units stay held until the provider answers or the grace period ends."
)
class PaymentPending:
    message: str = strawberry.field(description="What happens next, for people.")
    booking: Booking = strawberry.field(description="The booking, still HELD.")
    payment: Payment = strawberry.field(description="The payment, PENDING.")


@strawberry.type(
    description="Nothing was charged: the booking is not HELD any more, its hold expired (book "
    "again), it is already paid, or it already has a payment (replay that payment's "
    "idempotencyKey)."
)
class BookingNotPayable(Refusal):
    code: str = error_code("BOOKING_NOT_PAYABLE")


PayBookingResult = Annotated[
    PaymentSucceeded | PaymentDeclined | PaymentRequiresAction | PaymentPending | BookingNotPayable,
    strawberry.union(
        "PayBookingResult",
        description="What payBooking did: PaymentSucceeded; PaymentRequiresAction or "
        "PaymentPending while under way; or an Error member (PaymentDeclined, "
        "BookingNotPayable).",
    ),
]


async def resolve_pay_booking(
    info: ContextInfo,
    input: Annotated[PayBookingInput, strawberry.argument(description="What to pay, and how.")],
) -> PayBookingResult:
    principal, services = caller_and_services(info)
    request = PayRequest(
        booking_id=int_id(input.booking_id, "Booking", "input.bookingId"),
        payment_method=input.payment_method,
        idempotency_key=input.idempotency_key,
        return_url=input.return_url,
        base_url=services.config.public_base_url or info.context.base_url,
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
