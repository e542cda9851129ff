"""``bookDeal``: every union member, idempotency, the 64-buyer race, holds and their expiry."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from commerce.orders.booking import expire_holds
from gateway.app import database_from
from gateway.settings import Settings
from tests.helpers import decode_id
from tests.orders.fixtures import Caller, Shop, ShopFactory
from tests.orders.test_flow import BOOK, book, pay, remaining

CANCEL = """mutation($input: CancelBookingInput!) { cancelBooking(input: $input) {
  __typename ... on BookingCancelled { booking { status } refund { id } }
  ... on NotCancellable { message } } }"""


async def test_union_members_of_book_deal(
    shops: ShopFactory, customer: Callable[[], Caller]
) -> None:
    alice = customer()
    ended = shops(valid_from="now() - interval '2 days'", valid_until="now() - interval '1 day'")
    upcoming = shops(valid_from="now() + interval '1 day'", valid_until="now() + interval '2 days'")
    empty = shops(stock=0)
    small = shops(stock=2, per_user_limit=10)
    limited = shops(stock=10, per_user_limit=2)
    two_stores = shops(stores=2, deal_stores=1)

    cases: list[tuple[Shop, dict[str, Any], str]] = [
        (ended, {}, "DealUnavailable"),
        (upcoming, {}, "DealUnavailable"),
        (empty, {}, "SoldOut"),
        (small, {"quantity": 3}, "SoldOut"),
        (limited, {"quantity": 3}, "PerUserLimitReached"),
        (small, {"quantity": 0}, "InvalidInput"),
        (small, {"quantity": 21}, "InvalidInput"),
        (two_stores, {"storeId": two_stores.store_gid(1)}, "InvalidInput"),
        (small, {"slotStart": "2030-01-01T10:00:00+00:00"}, "InvalidInput"),
    ]
    for index, (shop, extra, expected) in enumerate(cases):
        quantity = extra.pop("quantity", 1)
        result = await book(alice, shop, f"case-{index}", quantity, **extra)
        assert result["__typename"] == expected, (index, result)
        assert result["message"]
    assert (await book(alice, limited, "ok-1", 2))["__typename"] == "BookDealSuccess"
    over = await book(alice, limited, "ok-2", 1)
    assert over == {
        "__typename": "PerUserLimitReached",
        "message": "at most 2 per customer; you can book 0 more",
        "limit": 2,
    }


async def test_time_slots_have_their_own_capacity(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any]
) -> None:
    shop = shops(stock=None, per_user_limit=5)
    sql.execute(
        "INSERT INTO deal_slots VALUES (%s, '2030-01-01T10:00:00+00', 2, 2),"
        " (%s, '2030-01-01T11:00:00+00', 5, 5)",
        [shop.deal_id, shop.deal_id],
    )
    alice, bob = customer(), customer()
    ten, eleven = "2030-01-01T10:00:00+00:00", "2030-01-01T11:00:00+00:00"
    assert (await book(alice, shop, "s0"))["__typename"] == "InvalidInput"  # slot required
    unknown = await book(alice, shop, "s1", slotStart="2030-01-01T12:00:00+00:00")
    assert unknown["__typename"] == "InvalidInput"
    assert (await book(alice, shop, "s2", 2, slotStart=ten))["__typename"] == "BookDealSuccess"
    assert (await book(bob, shop, "s3", 1, slotStart=ten))["__typename"] == "SoldOut"
    assert (await book(bob, shop, "s4", 1, slotStart=eleven))["__typename"] == "BookDealSuccess"
    slots = sql.execute(
        "SELECT remaining FROM deal_slots WHERE deal_id = %s ORDER BY slot_start", [shop.deal_id]
    ).fetchall()
    assert slots == [(0,), (4,)]


async def test_idempotent_replays_return_the_first_result(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any]
) -> None:
    shop = shops(stock=10)
    alice = customer()
    first = await book(alice, shop, "same-key", 2)
    replays = await asyncio.gather(*(book(alice, shop, "same-key", 2) for _ in range(8)))
    assert {r["booking"]["id"] for r in replays} == {first["booking"]["id"]}
    assert remaining(sql, shop) == 8
    payload = {"dealId": shop.deal, "quantity": 3, "idempotencyKey": "same-key"}
    assert await alice.error_code(BOOK, {"input": payload}) == "BAD_USER_INPUT"
    sold_out = shops(stock=0)
    assert (await book(alice, sold_out, "k-sold"))["__typename"] == "SoldOut"
    sql.execute(
        "UPDATE deals SET remaining_quantity = 5, total_quantity = 5 WHERE id = %s",
        [sold_out.deal_id],
    )
    assert (await book(alice, sold_out, "k-sold"))["__typename"] == "SoldOut"  # first result


async def test_concurrent_first_use_of_one_key_books_once(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any]
) -> None:
    shop = shops(stock=10)
    alice = customer()
    results = await asyncio.gather(*(book(alice, shop, "raced-key", 1) for _ in range(16)))
    assert len({r["booking"]["id"] for r in results}) == 1
    assert remaining(sql, shop) == 9


async def test_64_buyers_race_for_10_units(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any]
) -> None:
    shop = shops(stock=10, per_user_limit=1)
    buyers = [customer() for _ in range(64)]
    results = await asyncio.gather(*(book(b, shop, "race") for b in buyers))
    outcomes = Counter(r["__typename"] for r in results)
    print(f"\n64 concurrent bookDeal on 10 units: {dict(outcomes)}")
    assert outcomes == {"BookDealSuccess": 10, "SoldOut": 54}
    assert remaining(sql, shop) == 0
    held = sql.execute(
        "SELECT count(*), sum(quantity) FROM bookings WHERE deal_id = %s", [shop.deal_id]
    ).fetchone()
    assert held == (10, 10)


async def test_expired_holds_return_their_units_exactly_once(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    sql: psycopg.Connection[Any],
    database_url: str,
) -> None:
    shop = shops(stock=5)
    alice = customer()
    booking = (await book(alice, shop, "hold", 3))["booking"]
    assert remaining(sql, shop) == 2
    sql.execute(
        "UPDATE bookings SET hold_expires_at = now() - interval '1 second' WHERE id = %s",
        [decode_id(booking["id"])],
    )
    database = database_from(Settings(database_url=database_url, db_pool_size=2))
    try:
        rounds = await asyncio.gather(*(expire_holds(database) for _ in range(4)))
        assert await expire_holds(database) == 0
    finally:
        await database.dispose()
    assert sum(rounds) <= 1  # the session server's own sweeper may have released it first
    assert remaining(sql, shop) == 5
    status = sql.execute(
        "SELECT status, stock_released_at IS NOT NULL FROM bookings WHERE id = %s",
        [decode_id(booking["id"])],
    ).fetchone()
    assert status == ("EXPIRED", True)
    late = await pay(alice, booking["id"])
    assert late["__typename"] == "BookingNotPayable"


async def test_the_background_sweeper_expires_holds(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    sql: psycopg.Connection[Any],
    database_url: str,
) -> None:
    from gateway.app import create_app
    from tests.conftest import serve_in_thread

    settings = Settings(
        database_url=database_url,
        db_pool_size=2,
        booking_hold_seconds=10,
        hold_sweep_interval_seconds=0.2,
    )
    _, server, thread = serve_in_thread(create_app(settings))
    try:
        shop = shops(stock=4)
        booking = (await book(customer(), shop, "swept", 4))["booking"]
        sql.execute(
            "UPDATE bookings SET hold_expires_at = now() WHERE id = %s", [decode_id(booking["id"])]
        )
        for _ in range(100):
            if remaining(sql, shop) == 4:
                break
            await asyncio.sleep(0.05)
        assert remaining(sql, shop) == 4
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def test_cancelling_a_hold_releases_it_once(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any]
) -> None:
    shop = shops(stock=3)
    alice, mallory = customer(), customer()
    booking = (await book(alice, shop, "c", 2))["booking"]
    variables = {"input": {"bookingId": booking["id"], "reason": "changed my mind"}}
    assert await mallory.error_code(CANCEL, variables) == "FORBIDDEN"
    results = await asyncio.gather(*(alice.data(CANCEL, variables) for _ in range(4)))
    kinds = Counter(r["cancelBooking"]["__typename"] for r in results)
    assert kinds == {"BookingCancelled": 1, "NotCancellable": 3}
    assert remaining(sql, shop) == 3


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-jwt", "Basic abc", "Bearer a.b.c"],
)
async def test_book_deal_needs_a_valid_token(shops: ShopFactory, gql: Any, header: str) -> None:
    shop = shops()
    variables = {"input": {"dealId": shop.deal, "idempotencyKey": "k"}}
    body = await gql(BOOK, variables, Authorization=header)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    anonymous = await gql(BOOK, variables)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_deal_locked_too_long_answers_busy_and_the_key_can_be_retried(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    database_url: str,
    sql: psycopg.Connection[Any],
) -> None:
    shop = shops(stock=3)
    alice = customer()
    with psycopg.connect(database_url) as blocker:
        blocker.execute("SELECT 1 FROM deals WHERE id = %s FOR UPDATE", [shop.deal_id])
        payload = {"dealId": shop.deal, "quantity": 1, "idempotencyKey": "busy"}
        assert await alice.error_code(BOOK, {"input": payload}) == "SERVICE_UNAVAILABLE"
        blocker.rollback()
    assert remaining(sql, shop) == 3
    assert (await book(alice, shop, "busy"))["__typename"] == "BookDealSuccess"
    assert remaining(sql, shop) == 2
