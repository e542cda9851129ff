"""Who may subscribe to what, and the limits: checked at connection_init (the token) and
again by each subscription (its permission rule)."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg

from tests.conftest import GraphQL
from tests.live.conftest import (
    MAX_CONNECTIONS_PER_CALLER,
    MAX_SUBSCRIPTIONS_PER_CONNECTION,
    Gateway,
    Subscriber,
    customer_on,
    staff_on,
)
from tests.orders.fixtures import ShopFactory, token
from tests.orders.test_flow import book

DEAL_STOCK = "subscription($deal: ID!) { dealStock(dealId: $deal) { id remainingQuantity } }"
ACTIVITY = """subscription($merchant: ID!) { merchantActivity(merchantId: $merchant) {
  kind } }"""
REDEMPTIONS = "subscription($store: ID!) { redemptions(storeId: $store) { id } }"
BOOKING_STATUS = "subscription($booking: ID!) { bookingStatus(bookingId: $booking) { status } }"


async def refusal(subscriber: Subscriber) -> dict[str, Any]:
    """The error the subscription ended with: its first GraphQL error, or the close."""
    line = await subscriber.line()
    while line["type"] not in ("error", "next", "closed"):
        line = await subscriber.line()
    if line["type"] == "next":  # an error raised by the resolver arrives as a result
        assert line["payload"]["data"] is None, line
        return dict(line["payload"]["errors"][0])
    if line["type"] == "error" and line.get("errors"):
        return dict(line["errors"][0])
    return line


async def test_a_bad_token_at_connection_init_closes_with_4403(
    quiet_a: Gateway, shops: ShopFactory, subscribers: list[Subscriber]
) -> None:
    shop = shops()
    for params in (
        {"Authorization": "Bearer not-a-token"},
        {"token": token("someone", ttl_seconds=-120)},  # expired
        {"authorization": "Basic dXNlcjpwYXNz"},
    ):
        client = await Subscriber.start(
            quiet_a, {"query": DEAL_STOCK, "variables": {"deal": shop.deal}},
            connection_params=params,
        )  # fmt: skip
        subscribers.append(client)
        closed = await client.line("closed")
        assert closed["code"] == 4403, (params, closed)
        assert not any(line["type"] in ("connected", "next") for line in client.lines)


async def test_each_subscription_checks_its_own_permission(
    quiet_a: Gateway, on_b: GraphQL, shops: ShopFactory, subscribers: list[Subscriber]
) -> None:
    shop, other = shops(), shops()
    alice, mallory = customer_on(on_b), customer_on(on_b)
    booking = (await book(alice, shop, "live-private"))["booking"]
    rival = staff_on(on_b, other)
    cases = [
        (mallory.bearer, ACTIVITY, {"merchant": shop.merchant}, "FORBIDDEN"),  # a customer
        (rival.bearer, ACTIVITY, {"merchant": shop.merchant}, "FORBIDDEN"),  # another's staff
        (rival.bearer, REDEMPTIONS, {"store": shop.store}, "FORBIDDEN"),
        (mallory.bearer, BOOKING_STATUS, {"booking": booking["id"]}, "FORBIDDEN"),  # a stranger
        (None, REDEMPTIONS, {"store": shop.store}, "UNAUTHENTICATED"),
        (None, BOOKING_STATUS, {"booking": booking["id"]}, "UNAUTHENTICATED"),
        (alice.bearer, BOOKING_STATUS, {"booking": shop.deal}, "NOT_FOUND"),  # a Deal's ID
        (None, DEAL_STOCK, {"deal": "not-an-id"}, "BAD_USER_INPUT"),
    ]
    for bearer, query, variables, code in cases:
        params = {"Authorization": f"Bearer {bearer}"} if bearer else None
        client = await Subscriber.start(
            quiet_a, {"query": query, "variables": variables}, connection_params=params
        )
        subscribers.append(client)
        error = await refusal(client)
        assert error.get("extensions", {}).get("code") == code, (query, variables, error)
        assert error["message"]
    # the owner may, on the same terms
    owner = await Subscriber.start(
        quiet_a,
        {"query": BOOKING_STATUS, "variables": {"booking": booking["id"]}},
        connection_params={"token": alice.bearer},
    )
    subscribers.append(owner)
    assert (await owner.line("next"))["payload"]["data"]["bookingStatus"]["status"] == "HELD"


async def test_subscriptions_per_connection_are_limited(
    quiet_a: Gateway, shops: ShopFactory, subscribers: list[Subscriber]
) -> None:
    shop = shops()
    wanted = MAX_SUBSCRIPTIONS_PER_CONNECTION + 1
    operation = {"query": DEAL_STOCK, "variables": {"deal": shop.deal}}
    client = await Subscriber.start(quiet_a, *[operation] * wanted, timeout_ms=5000)
    subscribers.append(client)
    lines = await client.rest()
    served = {line["sub"] for line in lines if line["type"] == "next"}
    refused = [line for line in lines if line["type"] == "error"]
    assert len(served) == MAX_SUBSCRIPTIONS_PER_CONNECTION
    assert len(refused) == 1
    assert refused[0]["errors"][0]["message"] == "Subscription limit reached"
    assert refused[0]["sub"] not in served


async def test_connections_per_caller_are_limited(
    quiet_a: Gateway, shops: ShopFactory, subscribers: list[Subscriber]
) -> None:
    shop = shops()
    operation = {"query": DEAL_STOCK, "variables": {"deal": shop.deal}}
    bearer = token("user-many-tabs")
    params = {"Authorization": f"Bearer {bearer}"}
    tabs = []
    for _ in range(MAX_CONNECTIONS_PER_CALLER):
        tab = await Subscriber.start(quiet_a, operation, connection_params=params)
        await tab.line("next")
        tabs.append(tab)
    subscribers.extend(tabs)
    one_too_many = await Subscriber.start(quiet_a, operation, connection_params=params)
    subscribers.append(one_too_many)
    assert (await one_too_many.line("closed"))["code"] == 4429
    # another caller is not affected, and a closed tab frees its place
    other = await Subscriber.start(
        quiet_a, operation, connection_params={"token": token("user-one-tab")}
    )
    subscribers.append(other)
    await other.line("next")
    await tabs[0].close()
    await asyncio.sleep(0.5)
    again = await Subscriber.start(quiet_a, operation, connection_params=params)
    subscribers.append(again)
    await again.line("next")


async def test_the_listener_comes_back_after_its_connection_is_killed(
    gateways: tuple[Gateway, Gateway],
    quiet_a: Gateway,
    sql: psycopg.Connection[Any],
    shops: ShopFactory,
    subscribers: list[Subscriber],
) -> None:
    """PostgreSQL dropping the LISTEN connection (as in a restart): the listener reconnects
    with backoff, subscriptions stay open, and the state streams resend the current state."""
    shop = shops(stock=30)
    watcher = await Subscriber.start(
        quiet_a, {"query": DEAL_STOCK, "variables": {"deal": shop.deal}}, timeout_ms=30_000
    )
    subscribers.append(watcher)
    await watcher.line("next")
    failures = await asyncio.to_thread(quiet_a.metric, "o2o_live_listener_failures_total")
    killed = sql.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name = 'o2o-gateway-live'"
    ).fetchall()
    assert len(killed) >= len(gateways)  # one listener per process (and the in-thread app)
    sql.execute("UPDATE deals SET remaining_quantity = 29 WHERE id = %s", [shop.deal_id])
    line = await watcher.line("next", timeout_s=10)  # the resync after the reconnect
    assert line["payload"]["data"]["dealStock"]["remainingQuantity"] == 29
    assert await asyncio.to_thread(quiet_a.metric, "o2o_live_listener_failures_total") > failures
    await quiet_a.wait_metric("o2o_live_listening", 1)
    sql.execute("UPDATE deals SET remaining_quantity = 28 WHERE id = %s", [shop.deal_id])
    line = await watcher.line("next", timeout_s=5)
    assert line["payload"]["data"]["dealStock"]["remainingQuantity"] == 28


async def test_a_connection_closes_with_4403_when_its_token_expires(
    quiet_a: Gateway,
    shops: ShopFactory,
    subscribers: list[Subscriber],
    sql: psycopg.Connection[Any],
) -> None:
    """A signed-in connection lasts as long as its token (plus the 30-second leeway every
    request gets); another caller's connection is not affected."""
    shop = shops(stock=30)
    stream = {"query": DEAL_STOCK, "variables": {"deal": shop.deal}}
    ending = await Subscriber.start(
        quiet_a, stream, connection_params={"token": token("ending", ttl_seconds=-26)}
    )  # expired 26 s ago: accepted, with about 4 s left
    lasting = await Subscriber.start(
        quiet_a, stream, connection_params={"token": token("lasting", ttl_seconds=3600)}
    )
    subscribers.extend([ending, lasting])
    await ending.line("next")
    await lasting.line("next")
    closed = await ending.line("closed", timeout_s=20)
    assert closed["code"] == 4403, closed
    sql.execute("UPDATE deals SET remaining_quantity = 29 WHERE id = %s", [shop.deal_id])
    line = await lasting.line("next", timeout_s=10)
    assert line["payload"]["data"]["dealStock"]["remainingQuantity"] == 29
