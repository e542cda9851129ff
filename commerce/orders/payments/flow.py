"""``payBooking`` and payment webhooks, in three steps.

1. one transaction under the booking's row lock: the PENDING payment, keyed by the caller's
   idempotency key and given a provider idempotency key of its own;
2. the provider call, outside any transaction (a retry reuses the provider key);
3. one transaction applying the provider's answer: SUCCEEDED + booking CONFIRMED + vouchers
   + the ledger's PAYMENT journal (customer funds to escrow), or FAILED with the booking
   still HELD. Webhooks and replays call the same step 3, which acts only on a PENDING
   payment, so an answer is applied exactly once.

Payments are attempts, as with Stripe: a declined card leaves the booking HELD until its
hold expires, and the customer retries with another method under a new idempotency key (a
new row; at most one attempt per booking is not FAILED, migration 0012). An unknown payment
method or a bad ``returnUrl`` is refused before anything is written.

The outcome carries the booking, payment and vouchers as these steps wrote them; only a
replay, or an answer applied by someone else first, reads them again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from decimal import Decimal
from urllib.parse import urljoin, urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.errors import NotFoundError, UserInputError
from commerce.idempotency import check_key, fingerprint, reused_key
from commerce.identity.principal import Principal
from commerce.money import ledger
from commerce.orders.payments.provider import Intent, IntentRequest, ProviderError
from commerce.orders.services import OrderServices
from commerce.orders.vouchers import VoucherView, code_for, code_hash, new_nonce
from commerce.outcomes import (
    BookingNotPayable,
    PaymentDeclined,
    PaymentPending,
    PaymentRequiresAction,
    PaymentSucceeded,
    PayOutcome,
)
from db import bookings_sql, payments_sql, vouchers_sql
from db.bookings_sql import ConfirmedBooking
from db.database import Database
from db.order_rows import BookingRow, PaymentRow
from db.payments_sql import Event, NewPayment
from db.vouchers_sql import NewVoucher, VoucherBatch

log = logging.getLogger("o2o.payments")
PAID_STATUSES = ("SUCCEEDED", "PARTIALLY_REFUNDED", "REFUNDED")
MAX_RETURN_URL = 2000
PROVIDER_CALL_SECONDS = 120  # a claimed call older than this is taken as lost


@dataclass(frozen=True, slots=True)
class PayRequest:
    booking_id: int
    payment_method: str
    idempotency_key: str
    return_url: str | None = None  # where the provider sends the customer after authenticating
    base_url: str = ""  # the gateway's public base URL: a relative nextActionUrl is made absolute


@dataclass(frozen=True, slots=True)
class Started:
    """What step 1 holds: the booking under its lock and its payment (new or replayed)."""

    booking: BookingRow
    payment: PaymentRow
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Applied:
    """What step 3 holds: the payment, and the booking and vouchers when it changed them."""

    payment: PaymentRow
    booking: BookingRow | None = None
    vouchers: list[VoucherView] = field(default_factory=list)


async def pay_booking(
    database: Database, services: OrderServices, principal: Principal, request: PayRequest
) -> PayOutcome:
    check_key(request.idempotency_key)
    check_method(services, request.payment_method)
    if request.return_url is not None:
        check_return_url(request.return_url)
    stamp = fingerprint(request.booking_id, request.payment_method)
    if request.return_url is not None:
        stamp = fingerprint(request.booking_id, request.payment_method, request.return_url)
    async with database.write() as conn:
        started = await _start(conn, services, principal, request, stamp)
    if isinstance(started, BookingNotPayable):
        return started
    return await _drive(database, services, started, request.base_url)


def check_method(services: OrderServices, method: str) -> None:
    """``BAD_USER_INPUT`` for a method the configured provider does not know (nothing is
    written); ``SERVICE_UNAVAILABLE`` when payments are not configured."""
    provider = services.provider()
    if not 1 <= len(method) <= 80 or not provider.knows_method(method):
        raise UserInputError(
            "input.paymentMethod",
            f"unknown payment method for {provider.name}; use one of {provider.methods_hint}",
        )


def check_return_url(url: str) -> None:
    """An absolute http(s) URL of at most ``MAX_RETURN_URL`` characters, without spaces."""
    plain = url.isprintable() and not any(char.isspace() for char in url)
    parts = urlsplit(url) if len(url) <= MAX_RETURN_URL and plain else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserInputError(
            "input.returnUrl",
            f"returnUrl must be an absolute http(s) URL of at most {MAX_RETURN_URL} characters",
        )


async def _start(
    conn: AsyncConnection,
    services: OrderServices,
    principal: Principal,
    request: PayRequest,
    stamp: str,
) -> Started | BookingNotPayable:
    """Step 1: the booking's row lock serialises concurrent attempts on one booking."""
    booking = await bookings_sql.lock_booking(conn, request.booking_id)
    if booking is None:
        raise NotFoundError("no Booking with this ID")
    principal.require_owner(booking.user_id, "booking")
    replayed = await payments_sql.payment_by_key(conn, principal.subject, request.idempotency_key)
    if replayed is not None:
        if replayed.fingerprint != stamp:
            raise reused_key()
        return Started(booking, replayed, replayed=True)
    refusal = await _not_payable(conn, booking)
    if refusal is not None:
        return refusal
    payment = await payments_sql.insert_payment(
        conn,
        NewPayment(
            booking_id=booking.id,
            user_id=principal.subject,
            idempotency_key=request.idempotency_key,
            fingerprint=stamp,
            provider=services.config.default_provider,
            payment_method=request.payment_method,
            currency=booking.currency,
            amount=booking.total_price,
            return_url=request.return_url,
        ),
    )
    await payments_sql.record_event(
        conn, _local_event(payment.provider, payment.id, "payment.created")
    )
    return Started(booking, payment)


async def _not_payable(conn: AsyncConnection, booking: BookingRow) -> BookingNotPayable | None:
    existing = await payments_sql.payment_of_booking(conn, booking.id)  # FAILED ones last
    if existing is not None and existing.status in PAID_STATUSES:
        return BookingNotPayable("this booking is already paid")
    if existing is not None and existing.status == "PENDING":
        return BookingNotPayable(
            "a payment attempt for this booking is in progress; replay it with its "
            "idempotencyKey, or wait for its result"
        )
    if booking.status != "HELD":
        return BookingNotPayable(f"this booking is {booking.status.lower()}")
    if not await bookings_sql.hold_is_live(conn, booking.id):
        return BookingNotPayable("the hold on this booking has expired; book again")
    return None


async def _drive(
    database: Database, services: OrderServices, started: Started, base_url: str
) -> PayOutcome:
    """Step 2 and 3, unless the payment already has its answer (a replay)."""
    payment = started.payment
    if payment.status != "PENDING" or payment.next_action_url is not None:
        return await _decided(database, services, payment, started.booking)
    provider = services.provider(payment.provider)
    if started.replayed and not await _claim_call(database, payment):
        return outcome_of(started.booking, payment, [])  # in flight elsewhere: pending
    try:
        intent = await provider.create_intent(intent_request(payment))
    except ProviderError as error:
        # The charge may or may not have happened: change nothing. A replay with the same
        # key, or the sweeper after the grace period, asks again with the same provider key.
        log.warning("payment %s: provider error: %s", payment.id, error)
        async with database.write() as conn:
            await payments_sql.release_provider_call(conn, payment.id)
        return outcome_of(started.booking, payment, [])
    if intent.next_action_url is not None:
        intent = replace(intent, next_action_url=urljoin(base_url, intent.next_action_url))
    async with database.write() as conn:
        applied = await apply_intent(conn, services, payment.id, intent)
    if applied.booking is not None:
        return outcome_of(applied.booking, applied.payment, applied.vouchers)
    if applied.payment.status in ("PENDING", "FAILED"):  # the booking is as held
        return outcome_of(started.booking, applied.payment, [])
    return await _decided(database, services, applied.payment, None)  # decided elsewhere


async def _claim_call(database: Database, payment: PaymentRow) -> bool:
    """One provider call per attempt at a time, claimed in PostgreSQL: a replay arriving
    while the first call is in flight does not call again (a provider that ignored the
    idempotency key would charge twice)."""
    async with database.write() as conn:
        return await payments_sql.claim_provider_call(conn, payment.id, PROVIDER_CALL_SECONDS)


async def _decided(
    database: Database, services: OrderServices, payment: PaymentRow, booking: BookingRow | None
) -> PayOutcome:
    """The outcome of a payment answered before: what is not at hand is read."""
    async with database.read() as conn:
        if booking is None:
            booking = (await bookings_sql.bookings_by_ids(conn, [payment.booking_id]))[
                payment.booking_id
            ]
        rows = []
        if payment.status in PAID_STATUSES:
            rows = (await vouchers_sql.vouchers_of_bookings(conn, [booking.id]))[booking.id]
    return outcome_of(booking, payment, [services.voucher_view(row) for row in rows])


def intent_request(payment: PaymentRow) -> IntentRequest:
    """The same request (and provider idempotency key) on every attempt for a payment."""
    return IntentRequest(
        amount=payment.amount,
        currency=payment.currency,
        payment_method=payment.payment_method,
        idempotency_key=payment.provider_idempotency_key,
        reference=f"booking:{payment.booking_id}",
        return_url=payment.return_url,
    )


async def apply_intent(
    conn: AsyncConnection, services: OrderServices, payment_id: int, intent: Intent
) -> Applied:
    """Step 3: apply a provider answer to a PENDING payment; anything else is a no-op."""
    payment = await payments_sql.lock_payment(conn, payment_id)
    if payment is None:
        raise NotFoundError("no Payment with this ID")
    return await apply_to_locked(conn, services, payment, intent)


async def apply_to_locked(
    conn: AsyncConnection, services: OrderServices, payment: PaymentRow, intent: Intent
) -> Applied:
    """Step 3 for a payment this transaction has locked already (webhooks)."""
    if payment.status != "PENDING":
        if intent.status == "succeeded" and payment.status == "FAILED":
            log.error("payment %s: provider reports success after failure; refund it", payment.id)
        return Applied(payment)
    if intent.status == "succeeded":
        return await _succeed(conn, services, payment, intent)
    if intent.status in ("requires_action", "requires_capture"):
        return await _await_customer(conn, payment, intent)
    return await _fail(conn, payment, intent)


async def _succeed(
    conn: AsyncConnection, services: OrderServices, payment: PaymentRow, intent: Intent
) -> Applied:
    succeeded = await payments_sql.mark_succeeded(conn, payment.id, intent.id)
    assert succeeded is not None  # PENDING under this transaction's lock
    confirmed = await bookings_sql.confirm_held(conn, payment.booking_id)
    if confirmed is None:  # prevented by the locking protocol; never drop money silently
        booking = await bookings_sql.lock_booking(conn, payment.booking_id)
        status = "missing" if booking is None else booking.status
        raise RuntimeError(f"payment {payment.id} succeeded for a {status} booking")
    vouchers = await _issue_vouchers(conn, services, confirmed)
    await ledger.post_payment(conn, payment.id, payment.booking_id, succeeded.amount_captured)
    await payments_sql.record_event(
        conn,
        _local_event(payment.provider, payment.id, "payment.succeeded", payment.amount),
    )
    return Applied(succeeded, confirmed.booking, vouchers)


async def _await_customer(conn: AsyncConnection, payment: PaymentRow, intent: Intent) -> Applied:
    waiting = await payments_sql.set_provider_ref(
        conn, payment.id, intent.id, intent.next_action_url
    )
    assert waiting is not None  # PENDING under this transaction's lock
    await payments_sql.record_event(
        conn, _local_event(payment.provider, payment.id, "payment.requires_action")
    )
    return Applied(waiting)


async def _fail(conn: AsyncConnection, payment: PaymentRow, intent: Intent) -> Applied:
    """The attempt failed; the booking stays HELD (until its hold expires) for a retry."""
    message = intent.failure_message or "the payment was not completed"
    ref = intent.id or None
    failed = await payments_sql.mark_failed(conn, payment.id, ref, message)
    assert failed is not None  # PENDING under this transaction's lock
    await payments_sql.record_event(
        conn, _local_event(payment.provider, payment.id, "payment.failed")
    )
    return Applied(failed)


async def _issue_vouchers(
    conn: AsyncConnection, services: OrderServices, confirmed: ConfirmedBooking
) -> list[VoucherView]:
    """One voucher per unit; the codes are made here and handed over, never stored."""
    booking, key = confirmed.booking, services.config.voucher_key
    codes: dict[int, str] = {}
    units = []
    for index in range(1, booking.quantity + 1):
        nonce = new_nonce()
        codes[index] = code_for(key, nonce)
        units.append(NewVoucher(index, nonce, code_hash(key, codes[index])))
    rows = await vouchers_sql.insert_vouchers(
        conn,
        VoucherBatch(
            booking_id=booking.id,
            user_id=booking.user_id,
            deal_id=booking.deal_id,
            merchant_id=confirmed.merchant_id,
            unit_price=booking.unit_price,
            valid_until=confirmed.deal_valid_until,
            units=units,
        ),
    )
    return [VoucherView(row=row, qr_data=codes[row.unit_index]) for row in rows]


def outcome_of(booking: BookingRow, payment: PaymentRow, vouchers: list[VoucherView]) -> PayOutcome:
    if payment.status in PAID_STATUSES:
        return PaymentSucceeded(booking, payment, vouchers)
    if payment.status == "FAILED":
        message = payment.failure_message or "the payment failed"
        if booking.status == "HELD":
            message += (
                " The booking stays held until its hold expires: retry with another payment"
                " method and a new idempotencyKey."
            )
        return PaymentDeclined(message, booking, payment)
    if payment.next_action_url is None:
        message = "the payment provider has not answered yet; retry with the same idempotencyKey"
        return PaymentPending(message, booking, payment)
    return PaymentRequiresAction(
        "the customer must authenticate the payment; it completes when the provider confirms",
        payment.next_action_url,
        booking,
        payment,
    )


def _local_event(provider: str, payment_id: int, kind: str, amount: Decimal | None = None) -> Event:
    return Event(
        provider=provider,
        event_id=f"o2o:payment:{payment_id}:{kind}",
        type=kind,
        payment_id=payment_id,
        amount=amount,
    )
