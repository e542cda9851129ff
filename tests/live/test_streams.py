"""The state streams (bookingStatus, dealStock) and what never leaves: rolled-back writes."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import psycopg

from tests.conftest import GraphQL
from tests.live.conftest import Gateway, Subscriber, customer_on
from tests.orders.fixtures import ShopFactory, token
from tests.orders.test_flow import book, pay

BOOKING_STATUS = """subscription($booking: ID!) { bookingStatus(bookingId: $booking) {
  id status holdExpiresAt payment { status } vouchers { id code status } } }"""
DEAL_STOCK = """subscription($deal: ID!) { dealStock(dealId: $deal) {
  id remainingQuantity } }"""
ACTIVITY = """subscription($merchant: ID!) { merchantActivity(merchantId: $merchant) {
  kind reviewId review { rating text } } }"""


def payload(line: dict[str, Any], field: str) -> Any:
    assert line["type"] == "next", line
    assert "errors" not in line["payload"], line["payload"]
    return line["payload"]["data"][field]


async def test_booking_status_goes_from_held_to_confirmed_with_vouchers(
    quiet_a: Gateway, on_b: GraphQL, shops: ShopFactory, subscribers: list[Subscriber]
) -> None:
    shop = shops(stock=5)
    alice = customer_on(on_b)
    booking = (await book(alice, shop, "live-status", quantity=2))["booking"]
    follow = await Subscriber.start(
        quiet_a,
        {"query": BOOKING_STATUS, "variables": {"booking": booking["id"]}},
        connection_params={"authorization": f"Bearer {alice.bearer}"},
    )
    subscribers.append(follow)
    held = payload(await follow.line("next"), "bookingStatus")
    assert held["id"] == booking["id"]
    assert held["status"] == "HELD"
    assert held["holdExpiresAt"] is not None
    assert held["payment"] is None
    assert held["vouchers"] == []

    paid = await pay(alice, booking["id"])
    answered = time.time()
    line = await follow.line("next", timeout_s=5)
    if payload(line, "bookingStatus")["status"] == "HELD":  # the payment started: PENDING
        assert payload(line, "bookingStatus")["payment"] == {"status": "PENDING"}
        line = await follow.line("next", timeout_s=5)
    confirmed = payload(line, "bookingStatus")
    latency_ms = 1000 * (line["at"] / 1000 - answered)
    print(f"\nbookingStatus: CONFIRMED {latency_ms:.1f} ms after payBooking's response")
    assert latency_ms < 2000
    assert confirmed["status"] == "CONFIRMED"
    assert confirmed["holdExpiresAt"] is None
    assert confirmed["payment"] == {"status": "SUCCEEDED"}
    assert sorted(v["code"] for v in confirmed["vouchers"]) == sorted(
        v["code"] for v in paid["vouchers"]
    )
    assert {v["status"] for v in confirmed["vouchers"]} == {"ISSUED"}
    # one transaction wrote the payment and the booking: one message, not two
    await follow.nothing_for(1.0)


async def test_deal_stock_sends_at_most_one_message_a_second_under_a_burst(
    quiet_a: Gateway, on_b: GraphQL, shops: ShopFactory, subscribers: list[Subscriber]
) -> None:
    shop = shops(stock=100)
    watcher = await Subscriber.start(
        quiet_a, {"query": DEAL_STOCK, "variables": {"deal": shop.deal}}, timeout_ms=30_000
    )
    subscribers.append(watcher)
    assert payload(await watcher.line("next"), "dealStock")["remainingQuantity"] == 100

    customers = [customer_on(on_b) for _ in range(24)]
    started = time.monotonic()
    for wave in range(4):  # 24 bookings in 4 waves over about 1.5 s
        await asyncio.gather(*(book(c, shop, f"burst-{wave}") for c in customers[wave::4]))
        await asyncio.sleep(0.4)
    burst_s = time.monotonic() - started

    messages: list[dict[str, Any]] = []
    while not messages or payload(messages[-1], "dealStock")["remainingQuantity"] != 76:
        messages.append(await watcher.line("next", timeout_s=5))
    await watcher.nothing_for(1.5)  # nothing more may follow: the final value was sent
    nexts = [line for line in watcher.lines if line["type"] == "next"]
    assert len(nexts) == len(messages) + 1
    times = [line["at"] / 1000 for line in nexts]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    print(
        f"\ndealStock: 24 bookings in {burst_s:.2f} s -> {len(messages)} messages after the "
        f"first, gaps {', '.join(f'{gap:.2f}' for gap in gaps)} s"
    )
    assert min(gaps) >= 0.95
    assert len(messages) <= burst_s + 2
    values = [payload(line, "dealStock")["remainingQuantity"] for line in nexts]
    assert values == sorted(values, reverse=True)
    assert len(set(values)) == len(values)  # coalesced: no message repeats the last one


async def test_no_event_leaves_for_a_rolled_back_transaction(
    quiet_a: Gateway,
    sql: psycopg.Connection[Any],
    shops: ShopFactory,
    subscribers: list[Subscriber],
) -> None:
    shop = shops(stock=50)
    owner_token = token(f"staff-live-{shop.merchant_id}", "merchant", shop.merchant_id)
    stock = await Subscriber.start(
        quiet_a, {"query": DEAL_STOCK, "variables": {"deal": shop.deal}}, timeout_ms=20_000
    )
    feed = await Subscriber.start(
        quiet_a,
        {"query": ACTIVITY, "variables": {"merchant": shop.merchant}},
        connection_params={"token": owner_token},
        timeout_ms=20_000,
    )
    subscribers.extend([stock, feed])
    assert payload(await stock.line("next"), "dealStock")["remainingQuantity"] == 50
    await quiet_a.wait_metric("o2o_live_subscriptions", 2)

    review = "INSERT INTO reviews (merchant_id, author_name, rating, text) VALUES (%s, 'T', %s, %s)"
    with sql.transaction(force_rollback=True):
        sql.execute("UPDATE deals SET remaining_quantity = 7 WHERE id = %s", [shop.deal_id])
        sql.execute(review, [shop.merchant_id, 1, "rolled back"])
    await asyncio.sleep(1.5)
    with sql.transaction():
        sql.execute("UPDATE deals SET remaining_quantity = 49 WHERE id = %s", [shop.deal_id])
        sql.execute(review, [shop.merchant_id, 5, "committed"])

    assert payload(await stock.line("next", timeout_s=5), "dealStock")["remainingQuantity"] == 49
    event = payload(await feed.line("next", timeout_s=5), "merchantActivity")
    assert event["kind"] == "REVIEWED"
    assert event["review"] == {"rating": 5, "text": "committed"}
    await stock.nothing_for(0.5)
    await feed.nothing_for(0.1)
