"""Payments behave like Stripe's: a decline keeps the hold and a new attempt (new key)
succeeds; an unknown method or a bad ``returnUrl`` writes nothing; ``nextActionUrl`` is
absolute and leads back to ``returnUrl``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest

from tests.conftest import RunningServer
from tests.helpers import decode_id
from tests.orders.fixtures import Caller, ShopFactory
from tests.orders.test_flow import PAY, book, pay, remaining

STATUS = """query($id: ID!) { node(id: $id) { ... on Booking { status
  payment { status failureMessage } vouchers { status } } } }"""


def attempts(sql: psycopg.Connection[Any], booking_gid: str) -> list[tuple[Any, ...]]:
    rows = sql.execute(
        "SELECT idempotency_key, payment_method, status FROM payments WHERE booking_id = %s"
        " ORDER BY id",
        [decode_id(booking_gid)],
    ).fetchall()
    return [tuple(row) for row in rows]


def events(sql: psycopg.Connection[Any], booking_gid: str) -> int:
    row = sql.execute(
        "SELECT count(*) FROM payment_events e JOIN payments p ON p.id = e.payment_id"
        " WHERE p.booking_id = %s",
        [decode_id(booking_gid)],
    ).fetchone()
    assert row is not None
    return int(row[0])


async def test_a_retry_after_a_decline_is_a_new_attempt_that_succeeds(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any]
) -> None:
    shop = shops(stock=5, price="8.00")
    alice = customer()
    booking = (await book(alice, shop, "b", 2))["booking"]
    declined = await pay(alice, booking["id"], "pm_card_chargeDeclined", key="try-1")
    assert declined["__typename"] == "PaymentDeclined"
    assert declined["booking"]["status"] == "HELD"
    replay = await pay(alice, booking["id"], "pm_card_chargeDeclined", key="try-1")
    assert replay["__typename"] == "PaymentDeclined"  # the same attempt, answered again
    paid = await pay(alice, booking["id"], "pm_card_visa", key="try-2")
    assert paid["__typename"] == "PaymentSucceeded", paid
    assert len(paid["vouchers"]) == 2 and remaining(sql, shop) == 3
    assert attempts(sql, booking["id"]) == [
        ("try-1", "pm_card_chargeDeclined", "FAILED"),
        ("try-2", "pm_card_visa", "SUCCEEDED"),
    ]
    node = (await alice.data(STATUS, {"id": booking["id"]}))["node"]
    assert node["status"] == "CONFIRMED"
    assert node["payment"] == {"status": "SUCCEEDED", "failureMessage": None}  # the current one
    third = await pay(alice, booking["id"], "pm_card_visa", key="try-3")
    assert third == {"__typename": "BookingNotPayable", "message": "this booking is already paid"}
    assert len(attempts(sql, booking["id"])) == 2


async def test_an_attempt_in_progress_blocks_another_with_a_clear_message(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any]
) -> None:
    shop = shops(stock=2)
    alice = customer()
    booking = (await book(alice, shop, "b", 1))["booking"]
    waiting = await pay(alice, booking["id"], "pm_card_authenticationRequired", key="a")
    assert waiting["__typename"] == "PaymentRequiresAction"
    other = await pay(alice, booking["id"], "pm_card_visa", key="b")
    assert other["__typename"] == "BookingNotPayable"
    assert "in progress" in other["message"] and "already has a payment" not in other["message"]
    assert [a[2] for a in attempts(sql, booking["id"])] == ["PENDING"]


async def test_concurrent_attempts_on_one_booking_charge_once(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any]
) -> None:
    shop = shops(stock=3)
    alice = customer()
    booking = (await book(alice, shop, "b", 1))["booking"]
    answers = await asyncio.gather(
        *(pay(alice, booking["id"], "pm_card_visa", key=f"k{i}") for i in range(6))
    )
    kinds = sorted(answer["__typename"] for answer in answers)
    assert kinds.count("PaymentSucceeded") == 1, kinds
    assert set(kinds) <= {"PaymentSucceeded", "BookingNotPayable"}
    assert [a[2] for a in attempts(sql, booking["id"])] == ["SUCCEEDED"]


@pytest.mark.parametrize(
    "method",
    ["pm_card_visa_typo", "visa", "", "pm_card_visa_chargeDeclined", "x" * 81],
)
async def test_an_unknown_method_is_bad_input_and_writes_nothing(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any], method: str
) -> None:
    shop = shops(stock=2)
    alice = customer()
    booking = (await book(alice, shop, "b", 1))["booking"]
    variables = {"input": {"bookingId": booking["id"], "paymentMethod": method,
                           "idempotencyKey": "p"}}  # fmt: skip
    body = await alice(PAY, variables)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == "input.paymentMethod"
    assert "pm_card_visa" in error["message"]  # says what the provider knows
    assert attempts(sql, booking["id"]) == [] and events(sql, booking["id"]) == 0
    node = (await alice.data(STATUS, {"id": booking["id"]}))["node"]
    assert node["status"] == "HELD" and node["payment"] is None
    assert (await pay(alice, booking["id"], key="p"))["__typename"] == "PaymentSucceeded"


@pytest.mark.parametrize(
    "url",
    ["/relative/path", "ftp://example.test/x", "javascript:alert(1)", "https://", "http://a b",
     "https://example.test/" + "x" * 2000],
)  # fmt: skip
async def test_a_bad_return_url_is_bad_input_and_writes_nothing(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any], url: str
) -> None:
    shop = shops(stock=2)
    alice = customer()
    booking = (await book(alice, shop, "b", 1))["booking"]
    variables = {"input": {"bookingId": booking["id"], "paymentMethod": "pm_card_visa",
                           "idempotencyKey": "p", "returnUrl": url}}  # fmt: skip
    body = await alice(PAY, variables)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["argument"] == "input.returnUrl"
    assert attempts(sql, booking["id"]) == []


async def test_next_action_url_is_absolute_and_returns_to_the_client(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    sql: psycopg.Connection[Any],
    server: RunningServer,
) -> None:
    shop = shops(stock=2)
    alice = customer()
    booking = (await book(alice, shop, "b", 1))["booking"]
    back = "https://shop.example.test/orders/42?tab=paid"
    variables = {"input": {"bookingId": booking["id"], "idempotencyKey": "p", "returnUrl": back,
                           "paymentMethod": "pm_card_authenticationRequired"}}  # fmt: skip
    waiting = (await alice.data(PAY, variables))["payBooking"]
    assert waiting["__typename"] == "PaymentRequiresAction"
    url = waiting["nextActionUrl"]
    assert url.startswith(server.base_url + "/sandbox/payments/pi_sb_"), url
    assert parse_qs(urlsplit(url).query)["return_url"] == [back]
    changed = {"input": {**variables["input"], "returnUrl": back + "&x=1"}}
    body = await alice(PAY, changed)  # same key, different input
    assert body["errors"][0]["extensions"]["argument"] == "idempotencyKey"
    async with httpx.AsyncClient() as browser:  # the customer's browser, outside the app
        page = await browser.get(url)
        assert page.status_code == 200 and "Authenticate" in page.text
        done = await browser.post(url, data={"outcome": "succeeded"})
    assert done.status_code == 303 and done.headers["location"] == back
    node = (await alice.data(STATUS, {"id": booking["id"]}))["node"]
    assert node["status"] == "CONFIRMED" and len(node["vouchers"]) == 1
    row = sql.execute(
        "SELECT return_url FROM payments WHERE booking_id = %s", [decode_id(booking["id"])]
    ).fetchone()
    assert row == (back,)
