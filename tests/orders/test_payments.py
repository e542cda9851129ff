"""``payBooking``, webhooks and ``cancelBooking``: outcomes, replays, refunds and their bound."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest

from commerce.orders.payments.sandbox import SandboxProvider
from gateway.settings import Settings
from tests.helpers import decode_id
from tests.orders.fixtures import Caller, Shop, ShopFactory
from tests.orders.test_booking import CANCEL
from tests.orders.test_flow import PAY, book, pay, redeem, remaining

REFUND = """mutation($input: CancelBookingInput!) { cancelBooking(input: $input) {
  __typename
  ... on BookingCancelled { booking { status vouchers { status } payment { status
        amountCaptured { amount } amountRefunded { amount } } }
      refund { id status amount { amount currency } } }
  ... on NotCancellable { message } } }"""


def sandbox() -> SandboxProvider:
    return SandboxProvider(Settings().sandbox_webhook_secret.get_secret_value().encode())


def payment_state(sql: psycopg.Connection[Any], booking_gid: str) -> tuple[Any, ...]:
    row = sql.execute(
        "SELECT b.status, p.status, (SELECT count(*) FROM vouchers v WHERE v.booking_id = b.id),"
        " (SELECT count(*) FROM payment_events e WHERE e.payment_id = p.id)"
        " FROM bookings b LEFT JOIN payments p ON p.booking_id = b.id WHERE b.id = %s",
        [decode_id(booking_gid)],
    ).fetchone()
    assert row is not None
    return tuple(row)


async def test_a_declined_card_keeps_the_hold_for_another_attempt(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any]
) -> None:
    shop = shops(stock=4)
    alice = customer()
    booking = (await book(alice, shop, "b", 3))["booking"]
    declined = await pay(alice, booking["id"], "pm_card_chargeDeclined")
    assert declined["__typename"] == "PaymentDeclined"
    assert declined["booking"]["status"] == "HELD"
    assert declined["payment"]["status"] == "FAILED"
    assert "declined" in declined["message"] and "new idempotencyKey" in declined["message"]
    assert remaining(sql, shop) == 1  # still held for the retry
    again = await pay(alice, booking["id"], "pm_card_visa", key="p2")
    assert again["__typename"] == "PaymentSucceeded"
    assert len(again["vouchers"]) == 3 and remaining(sql, shop) == 1


async def test_payment_replays_charge_once(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any]
) -> None:
    shop = shops(stock=4)
    alice, mallory = customer(), customer()
    booking = (await book(alice, shop, "b", 2))["booking"]
    variables = {
        "input": {
            "bookingId": booking["id"],
            "paymentMethod": "pm_card_visa",
            "idempotencyKey": "pay-1",
        }
    }
    assert await mallory.error_code(PAY, variables) == "FORBIDDEN"
    answers = await asyncio.gather(*(alice.data(PAY, variables) for _ in range(8)))
    kinds = {r["payBooking"]["__typename"] for r in answers}
    # a replay arriving while the first provider call is in flight does not call again
    assert kinds <= {"PaymentSucceeded", "PaymentPending"} and "PaymentSucceeded" in kinds
    answers.append(await alice.data(PAY, variables))
    results = [r for r in answers if r["payBooking"]["__typename"] == "PaymentSucceeded"]
    assert answers[-1] in results
    assert len({r["payBooking"]["payment"]["id"] for r in results}) == 1
    codes = {tuple(v["code"] for v in r["payBooking"]["vouchers"]) for r in results}
    assert len(codes) == 1
    assert payment_state(sql, booking["id"]) == ("CONFIRMED", "SUCCEEDED", 2, 2)
    other_key = await pay(alice, booking["id"], key="pay-2")
    assert other_key == {
        "__typename": "BookingNotPayable",
        "message": "this booking is already paid",
    }
    changed = {"input": {**variables["input"], "paymentMethod": "pm_card_chargeDeclined"}}
    assert await alice.error_code(PAY, changed) == "BAD_USER_INPUT"


async def test_authentication_completes_through_a_signed_webhook(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    sql: psycopg.Connection[Any],
    client: httpx.AsyncClient,
) -> None:
    shop = shops(stock=4, price="12.50")
    alice = customer()
    booking = (await book(alice, shop, "b", 2))["booking"]
    pending = await pay(alice, booking["id"], "pm_card_authenticationRequired")
    assert pending["__typename"] == "PaymentRequiresAction"
    assert pending["booking"]["status"] == "HELD"
    assert pending["payment"]["status"] == "PENDING"
    intent_id = pending["nextActionUrl"].rsplit("/", 1)[1]
    replay = await pay(alice, booking["id"], "pm_card_authenticationRequired")
    assert replay["__typename"] == "PaymentRequiresAction"

    body, headers = sandbox().signed_event(
        "payment_intent.succeeded", intent_id, Decimal("25.00"), "EUR"
    )
    before = payment_state(sql, booking["id"])
    forged = {"sandbox-signature": headers["sandbox-signature"][:-2] + "00"}
    for bad in (forged, {}, {"sandbox-signature": "t=1,v1=" + "0" * 64}):
        response = await client.post("/webhooks/payments/sandbox", content=body, headers=bad)
        assert response.status_code == 400
    tampered = body.replace(b"25.00", b"0.01")
    response = await client.post("/webhooks/payments/sandbox", content=tampered, headers=headers)
    assert response.status_code == 400
    assert payment_state(sql, booking["id"]) == before
    assert (await client.post("/webhooks/payments/nope", content=body)).status_code == 404

    responses = await asyncio.gather(
        *(
            client.post("/webhooks/payments/sandbox", content=body, headers=headers)
            for _ in range(8)
        )
    )
    assert {r.status_code for r in responses} == {200}
    results = Counter(r.json()["result"] for r in responses)
    print(f"\n8 concurrent deliveries of one webhook: {dict(results)}")
    assert results == {"applied": 1, "duplicate": 7}
    state = payment_state(sql, booking["id"])
    assert state[:3] == ("CONFIRMED", "SUCCEEDED", 2)
    again = await client.post("/webhooks/payments/sandbox", content=body, headers=headers)
    assert again.json() == {"received": True, "result": "duplicate"}
    assert payment_state(sql, booking["id"]) == state
    done = await pay(alice, booking["id"], "pm_card_authenticationRequired")
    assert done["__typename"] == "PaymentSucceeded" and len(done["vouchers"]) == 2


async def test_failed_authentication_keeps_the_hold_until_it_expires(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    sql: psycopg.Connection[Any],
    client: httpx.AsyncClient,
    orders: Orders,
) -> None:
    from commerce.orders.booking import expire_holds

    shop = shops(stock=3)
    alice = customer()
    booking = (await book(alice, shop, "b", 3))["booking"]
    pending = await pay(alice, booking["id"], "pm_card_authenticationRequired")
    cancel = {"input": {"bookingId": booking["id"]}}
    blocked = (await alice.data(CANCEL, cancel))["cancelBooking"]
    assert blocked["__typename"] == "NotCancellable"  # the provider has not answered yet
    page = await client.get(pending["nextActionUrl"])
    assert page.status_code == 200 and "Authenticate" in page.text
    response = await client.post(pending["nextActionUrl"], data={"outcome": "failed"})
    assert response.status_code == 200
    assert payment_state(sql, booking["id"])[:3] == ("HELD", "FAILED", 0)
    assert remaining(sql, shop) == 0
    sql.execute(
        "UPDATE bookings SET hold_expires_at = now() WHERE id = %s", [decode_id(booking["id"])]
    )
    await expire_holds(orders.database)
    assert payment_state(sql, booking["id"])[:3] == ("EXPIRED", "FAILED", 0)
    assert remaining(sql, shop) == 3


async def test_a_payment_in_flight_keeps_its_hold_from_the_sweeper(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    sql: psycopg.Connection[Any],
    database_url: str,
) -> None:
    from commerce.orders.booking import expire_holds
    from gateway.app import database_from

    shop = shops(stock=2)
    alice = customer()
    booking = (await book(alice, shop, "b", 2))["booking"]
    await pay(alice, booking["id"], "pm_card_authenticationRequired")
    sql.execute(
        "UPDATE bookings SET hold_expires_at = now() WHERE id = %s", [decode_id(booking["id"])]
    )
    database = database_from(Settings(database_url=database_url, db_pool_size=1))
    try:
        await expire_holds(database)
    finally:
        await database.dispose()
    assert payment_state(sql, booking["id"])[:2] == ("HELD", "PENDING")
    assert remaining(sql, shop) == 0


async def paid_booking(who: Caller, shop: Shop, quantity: int) -> dict[str, Any]:
    booking = (await book(who, shop, f"b{quantity}", quantity))["booking"]
    paid = await pay(who, booking["id"], key=f"p{quantity}")
    assert paid["__typename"] == "PaymentSucceeded"
    result: dict[str, Any] = paid
    return result


async def test_cancelling_refunds_only_unredeemed_vouchers(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
    sql: psycopg.Connection[Any],
) -> None:
    shop = shops(stock=10, price="10.00")
    alice, clerk = customer(), staff(shop)
    paid = await paid_booking(alice, shop, 3)
    vouchers = paid["vouchers"]
    assert (await redeem(clerk, vouchers[0]["code"], shop.store))["__typename"] == "VoucherRedeemed"

    variables = {"input": {"bookingId": paid["booking"]["id"], "reason": "plans changed"}}
    results = await asyncio.gather(*(alice.data(REFUND, variables) for _ in range(4)))
    kinds = Counter(r["cancelBooking"]["__typename"] for r in results)
    assert kinds == {"BookingCancelled": 1, "NotCancellable": 3}
    cancelled = next(
        r["cancelBooking"]
        for r in results
        if r["cancelBooking"]["__typename"] == "BookingCancelled"
    )
    assert cancelled["refund"]["amount"] == {"amount": "20.00", "currency": "EUR"}
    assert cancelled["refund"]["status"] == "SUCCEEDED"
    booking = cancelled["booking"]
    assert booking["status"] == "CANCELLED"  # COMPLETED only when every voucher was used
    assert sorted(v["status"] for v in booking["vouchers"]) == ["REDEEMED", "REFUNDED", "REFUNDED"]
    assert booking["payment"] == {
        "status": "PARTIALLY_REFUNDED",
        "amountCaptured": {"amount": "30.00"},
        "amountRefunded": {"amount": "20.00"},
    }
    refunded = await redeem(clerk, vouchers[1]["code"], shop.store, key="late")
    assert refunded["__typename"] == "VoucherRefunded"


async def test_a_fully_unused_booking_is_refunded_in_full(
    shops: ShopFactory, customer: Callable[[], Caller]
) -> None:
    shop = shops(stock=10, price="7.00")
    alice = customer()
    paid = await paid_booking(alice, shop, 2)
    variables = {"input": {"bookingId": paid["booking"]["id"]}}
    cancelled = (await alice.data(REFUND, variables))["cancelBooking"]
    assert cancelled["booking"]["status"] == "CANCELLED"
    assert cancelled["booking"]["payment"]["status"] == "REFUNDED"
    assert cancelled["refund"]["amount"]["amount"] == "14.00"
    again = (await alice.data(REFUND, variables))["cancelBooking"]
    assert again["__typename"] == "NotCancellable"


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        (
            "UPDATE payments SET amount_refunded = amount_captured + 0.01 WHERE id = %s",
            psycopg.errors.CheckViolation,
        ),
        (
            "UPDATE payments SET amount_captured = amount + 1 WHERE id = %s",
            psycopg.errors.CheckViolation,
        ),
        ("UPDATE payments SET status = 'REFUNDED' WHERE id = %s", psycopg.errors.CheckViolation),
        (
            "UPDATE payment_events SET type = 'x' WHERE payment_id = %s",
            psycopg.errors.InsufficientPrivilege,
        ),
        ("DELETE FROM payment_events WHERE payment_id = %s", psycopg.errors.InsufficientPrivilege),
        (
            "INSERT INTO redemptions (voucher_id, store_id, merchant_id, staff_id)"
            " SELECT v.id, r.store_id, r.merchant_id, 'x' FROM vouchers v JOIN redemptions r"
            " ON r.voucher_id = v.id JOIN bookings b ON b.id = v.booking_id"
            " JOIN payments p ON p.booking_id = b.id WHERE p.id = %s",
            psycopg.errors.UniqueViolation,
        ),
        (
            "UPDATE vouchers SET status = 'REDEEMED' WHERE booking_id ="
            " (SELECT booking_id FROM payments WHERE id = %s)",
            psycopg.errors.CheckViolation,
        ),
    ],
)
async def test_the_database_refuses_money_and_redemption_bugs(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
    sql: psycopg.Connection[Any],
    statement: str,
    error: type[Exception],
) -> None:
    shop = shops(stock=5)
    paid = await paid_booking(customer(), shop, 2)
    await redeem(staff(shop), paid["vouchers"][0]["code"], shop.store)
    payment_id = decode_id(paid["payment"]["id"])
    with pytest.raises(error):
        sql.execute(statement, [payment_id])


@dataclass(frozen=True)
class Orders:
    """The database and order services the gateway hands to the order operations."""

    database: Any
    services: Any


@pytest.fixture
async def orders(database_url: str) -> Any:
    from gateway.app import database_from, order_services_from

    settings = Settings(database_url=database_url, db_pool_size=2)
    database = database_from(settings)
    yield Orders(database, order_services_from(settings))
    await database.dispose()


async def test_the_sweeper_cancels_payments_never_authenticated(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any], orders: Orders
) -> None:
    from commerce.orders.sweeper import sweep_once

    shop = shops(stock=3)
    alice = customer()
    booking = (await book(alice, shop, "b", 3))["booking"]
    await pay(alice, booking["id"], "pm_card_authenticationRequired")
    booking_id = decode_id(booking["id"])
    await sweep_once(orders.database, orders.services)
    assert payment_state(sql, booking["id"])[:2] == ("HELD", "PENDING")  # still in its grace
    sql.execute(
        "UPDATE bookings SET hold_expires_at = now() - interval '1 hour' WHERE id = %s",
        [booking_id],
    )
    sql.execute(
        "UPDATE payments SET updated_at = now() - interval '1 hour' WHERE booking_id = %s",
        [booking_id],
    )
    await sweep_once(orders.database, orders.services)
    assert payment_state(sql, booking["id"])[:2] in (("HELD", "FAILED"), ("EXPIRED", "FAILED"))
    await sweep_once(orders.database, orders.services)  # the failed attempt lets the hold end
    assert payment_state(sql, booking["id"])[:3] == ("EXPIRED", "FAILED", 0)
    assert remaining(sql, shop) == 3


async def test_the_sweeper_finishes_a_payment_whose_provider_call_never_ran(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any], orders: Orders
) -> None:
    from commerce.orders.sweeper import sweep_once

    shop = shops(stock=3, price="5.00")
    alice = customer()
    booking = (await book(alice, shop, "b", 2))["booking"]
    booking_id = decode_id(booking["id"])
    # What step 1 leaves behind when the process dies before calling the provider.
    sql.execute(
        "INSERT INTO payments (booking_id, user_id, idempotency_key, fingerprint, provider,"
        " provider_idempotency_key, payment_method, currency, amount, updated_at)"
        " VALUES (%s, %s, 'k', 'f', 'sandbox', %s, 'pm_card_visa', 'EUR', 10.00,"
        " now() - interval '1 hour')",
        [booking_id, alice.subject, f"o2o-booking-{booking_id}-pay"],
    )
    sql.execute(
        "UPDATE bookings SET hold_expires_at = now() - interval '1 hour' WHERE id = %s",
        [booking_id],
    )
    await sweep_once(orders.database, orders.services)
    assert payment_state(sql, booking["id"])[:3] == ("CONFIRMED", "SUCCEEDED", 2)


async def test_the_sweeper_retries_a_refund_left_pending(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any], orders: Orders
) -> None:
    from commerce.orders.cancelling import _take_refundable
    from commerce.orders.sweeper import retry_stale_refunds
    from db import bookings_sql

    shop = shops(stock=3, price="8.00")
    alice = customer()
    paid = await paid_booking(alice, shop, 2)
    booking_id = decode_id(paid["booking"]["id"])
    async with orders.database.write() as conn:  # step 1 of a cancel whose process then died
        booking = await bookings_sql.lock_booking(conn, booking_id)
        assert booking is not None
        await _take_refundable(conn, booking, "crashed")
    assert (
        await retry_stale_refunds(orders.database, orders.services) == 0
    )  # too recent: the request may still finish it
    sql.execute(
        "UPDATE refunds SET created_at = now() - interval '1 hour' WHERE booking_id = %s",
        [booking_id],
    )
    # The session server's own sweeper may get there first: either way, exactly once.
    assert await retry_stale_refunds(orders.database, orders.services) <= 1
    assert await retry_stale_refunds(orders.database, orders.services) == 0
    row = sql.execute(
        "SELECT p.status, p.amount_refunded, r.status FROM payments p"
        " JOIN refunds r ON r.payment_id = p.id WHERE p.booking_id = %s",
        [booking_id],
    ).fetchone()
    assert row == ("REFUNDED", Decimal("16.00"), "SUCCEEDED")


class UnreachableOnce:
    """The sandbox behind a network that drops the first call (the charge may have run)."""

    def __init__(self, inner: SandboxProvider) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls = 0

    async def create_intent(self, request: Any) -> Any:
        self.calls += 1
        answer = await self.inner.create_intent(request)
        if self.calls == 1:
            from commerce.orders.payments.provider import ProviderError

            raise ProviderError("timed out after the provider charged")
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_provider_timeout_decides_nothing_and_a_replay_finishes(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any], orders: Orders
) -> None:
    from dataclasses import replace

    from commerce import outcomes
    from commerce.identity.principal import Principal
    from commerce.orders.payments.flow import PayRequest, pay_booking

    shop = shops(stock=2)
    alice = customer()
    booking = (await book(alice, shop, "b", 2))["booking"]
    flaky = UnreachableOnce(orders.services.providers["sandbox"])
    flaky_services = replace(orders.services, providers={"sandbox": flaky})
    principal = Principal(alice.subject, frozenset({"customer"}))
    request = PayRequest(decode_id(booking["id"]), "pm_card_visa", "pay-1")
    first = await pay_booking(orders.database, flaky_services, principal, request)
    assert isinstance(first, outcomes.PaymentPending)
    assert payment_state(sql, booking["id"])[:3] == ("HELD", "PENDING", 0)
    over_http = await pay(alice, booking["id"], key="pay-1")
    assert over_http["__typename"] == "PaymentSucceeded"
    assert payment_state(sql, booking["id"])[:3] == ("CONFIRMED", "SUCCEEDED", 2)
    assert flaky.calls == 1


async def test_production_takes_no_sandbox_payments(
    shops: ShopFactory, sql: psycopg.Connection[Any], database_url: str
) -> None:
    from gateway.app import create_app
    from tests.conftest import PRODUCTION_SECRETS, GraphQL, serve_in_thread
    from tests.orders.fixtures import token

    settings = Settings(
        database_url=database_url, db_pool_size=1, o2o_env="production", **PRODUCTION_SECRETS
    )
    base_url, server, thread = serve_in_thread(create_app(settings))
    try:
        async with httpx.AsyncClient(base_url=base_url) as http:
            secret = PRODUCTION_SECRETS["jwt_secret"]
            alice = Caller(GraphQL(http), token("prod-alice", secret=secret), "prod-alice")
            booking = (await book(alice, shops(stock=2), "b"))["booking"]
            variables = {
                "input": {
                    "bookingId": booking["id"],
                    "paymentMethod": "pm_card_visa",
                    "idempotencyKey": "p",
                }
            }
            assert await alice.error_code(PAY, variables) == "SERVICE_UNAVAILABLE"
            assert payment_state(sql, booking["id"]) == ("HELD", None, 0, 0)
            assert (await http.get("/sandbox/payments/pi_x")).status_code == 404
            assert (await http.post("/webhooks/payments/sandbox", content=b"{}")).status_code == 404
    finally:
        server.should_exit = True
        thread.join(timeout=10)
