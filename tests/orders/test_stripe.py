"""The Stripe adapter against localstripe, and the same loop over the sandbox.

``gateway`` serves the session's sandbox gateway or one configured with
``PAYMENT_PROVIDER=stripe`` against localstripe; this module's ``client`` follows it, so the
``customer``/``staff`` callers talk to the chosen gateway. localstripe ignores idempotency
keys and accepts over-refunds: the Stripe-only tests prove our guards.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
from pydantic import SecretStr

from gateway.app import create_app
from gateway.settings import Settings, UnsafeSettingsError, unsafe_settings
from tests.conftest import PRODUCTION_SECRETS, RunningServer, gateway_settings, serve_in_thread
from tests.helpers import decode_id
from tests.orders.fixtures import Caller, Shop, ShopFactory
from tests.orders.localstripe import API_KEY, WEBHOOK_SECRET, LocalStripe
from tests.orders.test_booking import CANCEL
from tests.orders.test_flow import PAY, book, pay, redeem
from tests.orders.test_payments import REFUND, sandbox

WEBHOOK_WAIT_S = 20.0  # localstripe posts its events about a second after the change


@dataclass(frozen=True)
class Gateway:
    provider: str
    base_url: str
    good_card: str
    declined_card: str


@pytest.fixture(scope="session")
def localstripe() -> Iterator[LocalStripe]:
    server = LocalStripe.start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def stripe_gateway(settings: Settings, localstripe: LocalStripe) -> Iterator[str]:
    """A gateway with PAYMENT_PROVIDER=stripe against localstripe, which sends it webhooks."""
    configured = gateway_settings(
        settings.database_url,
        settings.elasticsearch_url,
        db_pool_size=3,
        payment_provider="stripe",
        stripe_api_key=API_KEY,
        stripe_api_base=localstripe.url,
        stripe_webhook_secret=WEBHOOK_SECRET,
    )
    base_url, server, thread = serve_in_thread(create_app(configured))
    localstripe.send_webhooks_to(f"{base_url}/webhooks/payments/stripe")
    yield base_url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(params=["sandbox", "stripe"])
def gateway(request: pytest.FixtureRequest, server: RunningServer) -> Gateway:
    if request.param == "sandbox":
        return Gateway("sandbox", server.base_url, "pm_card_visa", "pm_card_chargeDeclined")
    base_url = request.getfixturevalue("stripe_gateway")
    # localstripe declines pm_card_visa_chargeDeclined only when attached to a customer; the
    # card whose charges fail is pm_card_chargeCustomerFail (as on Stripe)
    return Gateway("stripe", base_url, "pm_card_visa", "pm_card_chargeCustomerFail")


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    """The conftest's client, pointed at the chosen gateway."""
    async with httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http:
        yield http


only_stripe = pytest.mark.parametrize("gateway", ["stripe"], indirect=True)


def payment_row(sql: psycopg.Connection[Any], booking_gid: str) -> tuple[Any, ...]:
    row = sql.execute(
        "SELECT b.status, p.status, p.provider, p.provider_payment_id, p.amount_refunded,"
        " (SELECT count(*) FROM vouchers v WHERE v.booking_id = b.id)"
        " FROM bookings b JOIN payments p ON p.booking_id = b.id AND p.status <> 'FAILED'"
        " WHERE b.id = %s",
        [decode_id(booking_gid)],
    ).fetchone()
    assert row is not None
    return tuple(row)


async def test_the_loop_book_pay_redeem_cancel_refund(
    gateway: Gateway,
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
    sql: psycopg.Connection[Any],
    request: pytest.FixtureRequest,
) -> None:
    shop = shops(stock=5, price="12.50")
    alice, clerk = customer(), staff(shop)
    booking = (await book(alice, shop, "b", 2))["booking"]
    declined = await pay(alice, booking["id"], gateway.declined_card, key="p1")
    assert declined["__typename"] == "PaymentDeclined", declined
    assert declined["booking"]["status"] == "HELD"
    paid = await pay(alice, booking["id"], gateway.good_card, key="p2")
    assert paid["__typename"] == "PaymentSucceeded", paid
    assert paid["payment"]["provider"] == gateway.provider
    assert paid["payment"]["amountCaptured"] == {"amount": "25.00"}
    assert len(paid["vouchers"]) == 2
    redeemed = await redeem(clerk, paid["vouchers"][0]["code"], shop.store)
    assert redeemed["__typename"] == "VoucherRedeemed"
    cancelled = (await alice.data(REFUND, {"input": {"bookingId": booking["id"]}}))["cancelBooking"]
    assert cancelled["__typename"] == "BookingCancelled", cancelled
    assert cancelled["refund"]["status"] == "SUCCEEDED"
    assert cancelled["refund"]["amount"] == {"amount": "12.50", "currency": "EUR"}
    state = payment_row(sql, booking["id"])
    assert state[1:3] == ("PARTIALLY_REFUNDED", gateway.provider)
    assert state[4] == Decimal("12.50") and state[5] == 2
    if gateway.provider == "stripe":  # the money moved at the provider, as recorded
        stripe_side: LocalStripe = request.getfixturevalue("localstripe")
        intents = stripe_side.intents_of(decode_id(booking["id"]))
        succeeded = [i for i in intents if i["status"] == "succeeded"]
        assert len(succeeded) == 1 and succeeded[0]["id"] == state[3]
        assert succeeded[0]["amount"] == 2500 and succeeded[0]["currency"] == "eur"
        assert [r["amount"] for r in stripe_side.refunds_of(state[3])] == [1250]


def _stripe_signature(body: bytes, secret: str) -> str:
    stamp = int(time.time())
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def _waiting_payment(
    sql: psycopg.Connection[Any], booking_id: int, subject: str, provider: str, intent_id: str
) -> None:
    """A PENDING attempt that waits for the provider's webhook (as after 3-D Secure)."""
    sql.execute(
        "INSERT INTO payments (booking_id, user_id, idempotency_key, fingerprint, provider,"
        " provider_payment_id, provider_idempotency_key, payment_method, currency, amount)"
        " VALUES (%s, %s, 'wait', 'f', %s, %s, %s, 'pm_card_visa', 'EUR', 25.00)",
        [booking_id, subject, provider, intent_id, f"o2o-test-{uuid.uuid4().hex}"],
    )


async def _wait_for_confirmation(sql: psycopg.Connection[Any], booking_gid: str) -> None:
    deadline = time.monotonic() + WEBHOOK_WAIT_S
    while payment_row(sql, booking_gid)[0] != "CONFIRMED":
        assert time.monotonic() < deadline, "the webhook never confirmed the booking"
        await asyncio.sleep(0.1)


async def test_a_signed_webhook_confirms_a_waiting_payment(
    gateway: Gateway,
    shops: ShopFactory,
    customer: Callable[[], Caller],
    sql: psycopg.Connection[Any],
    client: httpx.AsyncClient,
    request: pytest.FixtureRequest,
) -> None:
    shop = shops(stock=3, price="12.50")
    alice = customer()
    booking = (await book(alice, shop, "b", 2))["booking"]
    booking_id = decode_id(booking["id"])
    path = f"/webhooks/payments/{gateway.provider}"
    if gateway.provider == "sandbox":
        intent_id = f"pi_sb_test_{uuid.uuid4().hex[:12]}"
        _waiting_payment(sql, booking_id, alice.subject, "sandbox", intent_id)
        body, headers = sandbox().signed_event(
            "payment_intent.succeeded", intent_id, Decimal("25.00"), "EUR"
        )
        forged = {"sandbox-signature": headers["sandbox-signature"][:-2] + "00"}
        assert (await client.post(path, content=body, headers=forged)).status_code == 400
        assert payment_row(sql, booking["id"])[:2] == ("HELD", "PENDING")
        delivered = await client.post(path, content=body, headers=headers)
        assert delivered.json() == {"received": True, "result": "applied"}
    else:
        stripe_side: LocalStripe = request.getfixturevalue("localstripe")
        auth = {"Authorization": f"Bearer {API_KEY}"}
        async with httpx.AsyncClient(base_url=stripe_side.url, headers=auth) as api:
            created = await api.post(
                "/v1/payment_intents",
                data={"amount": "2500", "currency": "eur", "payment_method": "pm_card_visa",
                      "metadata[reference]": f"booking:{booking_id}"},
            )  # fmt: skip
            intent_id = created.json()["id"]
            _waiting_payment(sql, booking_id, alice.subject, "stripe", intent_id)
            event = (
                b'{"id": "evt_forged", "type": "payment_intent.succeeded", "data": {"object":'
                b' {"id": "' + intent_id.encode() + b'", "object": "payment_intent",'
                b' "amount": 2500, "currency": "eur"}}}'
            )
            for signature in (_stripe_signature(event, "whsec_wrong"), "", "t=1,v1=00"):
                answer = await client.post(
                    path, content=event, headers={"stripe-signature": signature}
                )
                assert answer.status_code == 400, answer.text
            assert payment_row(sql, booking["id"])[:2] == ("HELD", "PENDING")
            confirmed = await api.post(f"/v1/payment_intents/{intent_id}/confirm")
            assert confirmed.json()["status"] == "succeeded"
        await _wait_for_confirmation(sql, booking["id"])  # localstripe's own signed event
    state = payment_row(sql, booking["id"])
    assert state[:2] == ("CONFIRMED", "SUCCEEDED") and state[5] == 2
    logged = sql.execute(
        "SELECT count(*) FROM payment_events WHERE provider = %s AND type = %s"
        " AND payment_id = (SELECT id FROM payments WHERE booking_id = %s)",
        [gateway.provider, "payment_intent.succeeded", booking_id],
    ).fetchone()
    assert logged == (1,)


@only_stripe
async def test_replaying_a_pay_key_makes_one_intent(
    gateway: Gateway,
    shops: ShopFactory,
    customer: Callable[[], Caller],
    sql: psycopg.Connection[Any],
    localstripe: LocalStripe,
) -> None:
    shop = shops(stock=3)
    alice = customer()
    booking = (await book(alice, shop, "b", 1))["booking"]
    answers = await asyncio.gather(*(pay(alice, booking["id"], key="same") for _ in range(6)))
    kinds = {answer["__typename"] for answer in answers}
    assert kinds <= {"PaymentSucceeded", "PaymentPending"} and "PaymentSucceeded" in kinds
    again = await pay(alice, booking["id"], key="same")
    assert again["__typename"] == "PaymentSucceeded"
    assert len(localstripe.intents_of(decode_id(booking["id"]))) == 1
    rows = sql.execute(
        "SELECT count(*) FROM payments WHERE booking_id = %s", [decode_id(booking["id"])]
    ).fetchone()
    assert rows == (1,)


@only_stripe
async def test_an_over_refund_is_refused_before_the_provider_is_asked(
    gateway: Gateway,
    shops: ShopFactory,
    customer: Callable[[], Caller],
    sql: psycopg.Connection[Any],
    localstripe: LocalStripe,
) -> None:
    shop = shops(stock=3, price="10.00")
    alice = customer()
    booking = (await book(alice, shop, "b", 1))["booking"]
    paid = await pay(alice, booking["id"])
    assert paid["__typename"] == "PaymentSucceeded"
    booking_id = decode_id(booking["id"])
    intent_id = payment_row(sql, booking["id"])[3]
    # A bug that prices the voucher above what was paid (localstripe would refund it all).
    sql.execute("UPDATE vouchers SET unit_price = 99.00 WHERE booking_id = %s", [booking_id])
    refused = (await alice.data(CANCEL, {"input": {"bookingId": booking["id"]}}))["cancelBooking"]
    assert refused["__typename"] == "NotCancellable"
    assert "exceed" in refused["message"]
    assert localstripe.refunds_of(intent_id) == []
    assert payment_row(sql, booking["id"])[:2] == ("CONFIRMED", "SUCCEEDED")
    payment_id = sql.execute(
        "SELECT id FROM payments WHERE booking_id = %s", [booking_id]
    ).fetchone()
    assert payment_id is not None
    with pytest.raises(psycopg.errors.CheckViolation):  # the database refuses it as well
        sql.execute(
            "INSERT INTO refunds (payment_id, booking_id, amount, currency,"
            " provider_idempotency_key) VALUES (%s, %s, 10.01, 'EUR', %s)",
            [payment_id[0], booking_id, f"o2o-test-{uuid.uuid4().hex}"],
        )


@only_stripe
async def test_stripe_refuses_what_is_not_a_payment_method_id(
    gateway: Gateway, shops: ShopFactory, customer: Callable[[], Caller]
) -> None:
    alice = customer()
    booking = (await book(alice, shops(stock=1), "b", 1))["booking"]
    variables = {"input": {"bookingId": booking["id"], "paymentMethod": "visa",
                           "idempotencyKey": "p"}}  # fmt: skip
    body = await alice(PAY, variables)
    assert body["errors"][0]["extensions"]["argument"] == "input.paymentMethod"
    assert "pm_" in body["errors"][0]["message"]


def _production(database_url: str, key: str | None, secret: str | None) -> Settings:
    return Settings(
        database_url=database_url,
        o2o_env="production",
        payment_provider="stripe",
        stripe_api_key=None if key is None else SecretStr(key),
        stripe_webhook_secret=None if secret is None else SecretStr(secret),
        **PRODUCTION_SECRETS,
    )


def test_production_refuses_missing_or_short_stripe_secrets(database_url: str) -> None:
    missing = _production(database_url, None, None)
    assert len(unsafe_settings(missing)) == 2
    with pytest.raises(UnsafeSettingsError, match="STRIPE_API_KEY"):
        create_app(missing, warm_up=False)
    short = _production(database_url, "sk_live_x", "whsec_" + "s" * 32)
    assert [p.split()[0] for p in unsafe_settings(short)] == ["STRIPE_API_KEY"]
    assert (
        unsafe_settings(_production(database_url, "sk_live_" + "k" * 24, "whsec_" + "s" * 32)) == []
    )
    assert unsafe_settings(Settings(database_url=database_url, payment_provider="stripe")) == []
