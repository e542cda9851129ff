"""Vouchers that expire unredeemed are refunded by the sweeper: once, with ledger entries,
visible to the customer and to ``bookingStatus`` subscribers (NOTIFY), units back on sale
while the deal is."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg

from commerce.orders.states import EXPIRY_REASON
from commerce.orders.sweeper import refund_expired_vouchers, sweep_once
from tests.helpers import decode_id
from tests.money.test_ledger import (
    BOOKINGS,
    assert_ledger_balanced,
    booking_accounts,
    booking_state,
    journal_kinds,
)
from tests.orders.fixtures import Caller, Shop, ShopFactory
from tests.orders.test_flow import redeem, remaining
from tests.orders.test_payments import Orders, orders, paid_booking

__all__ = ["orders"]  # the fixture


def expire(sql: psycopg.Connection[Any], voucher_ids: list[int]) -> None:
    sql.execute(
        "UPDATE vouchers SET valid_until = now() - interval '1 minute' WHERE id = ANY(%s)",
        [voucher_ids],
    )


def refunds_of(sql: psycopg.Connection[Any], booking_id: int) -> list[tuple[Any, ...]]:
    """The booking's refunds once none is PENDING (for up to 10 s): the test gateway's own
    sweeper may have claimed a refund first and still be asking the provider."""
    deadline = time.monotonic() + 10.0
    while True:
        rows = sql.execute(
            "SELECT amount, status, reason FROM refunds WHERE booking_id = %s ORDER BY id",
            [booking_id],
        ).fetchall()
        if all(row[1] != "PENDING" for row in rows) or time.monotonic() > deadline:
            return [tuple(row) for row in rows]
        time.sleep(0.05)


async def test_expired_vouchers_are_refunded_exactly_once(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    sql: psycopg.Connection[Any],
    database_url: str,
    orders: Orders,
) -> None:
    shop = shops(stock=10, price="8.00")
    alice = customer()
    paid = await paid_booking(alice, shop, 2)
    booking_id = decode_id(paid["booking"]["id"])
    assert remaining(sql, shop) == 8
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute("LISTEN o2o_live")
        expire(sql, [decode_id(v["id"]) for v in paid["vouchers"]])
        # two sweepers at once (and the server's own may join): one refund
        await asyncio.gather(
            refund_expired_vouchers(orders.database, orders.services),
            refund_expired_vouchers(orders.database, orders.services),
            sweep_once(orders.database, orders.services),
        )
        events = [json.loads(n.payload) for n in listener.notifies(timeout=2.0)]
    assert refunds_of(sql, booking_id) == [(Decimal("16.00"), "SUCCEEDED", EXPIRY_REASON)]
    assert booking_state(sql, booking_id) == ("EXPIRED", EXPIRY_REASON)
    assert remaining(sql, shop) == 10  # the deal is still on sale
    assert journal_kinds(sql, booking_id) == {"PAYMENT": 1, "REFUND": 1}
    assert booking_accounts(sql, booking_id) == {
        "customer_funds": Decimal("0.00"),
        "platform_escrow": Decimal("0.00"),
    }
    mine = (await alice.data(BOOKINGS))["me"]["bookings"]["edges"]
    node = next(e["node"] for e in mine if e["node"]["id"] == paid["booking"]["id"])
    assert node["status"] == "EXPIRED" and node["cancelReason"] == EXPIRY_REASON
    assert [v["status"] for v in node["vouchers"]] == ["REFUNDED", "REFUNDED"]
    assert node["payment"]["status"] == "REFUNDED"
    ours = [e for e in events if e.get("booking") == booking_id]
    assert {"e": "booking", "kind": "EXPIRED"}.items() <= next(
        e for e in ours if e["e"] == "booking"
    ).items()
    assert any(e["e"] == "payment" and e["kind"] == "REFUNDED" for e in ours)
    # a later round finds nothing left
    assert await refund_expired_vouchers(orders.database, orders.services) == 0
    assert len(refunds_of(sql, booking_id)) == 1
    assert_ledger_balanced(sql)


async def test_a_partly_redeemed_booking_refunds_only_what_expired(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
    sql: psycopg.Connection[Any],
    orders: Orders,
) -> None:
    shop = shops(stock=10, price="6.00", valid_until="now() + interval '1 day'")
    paid = await paid_booking(customer(), shop, 3)
    booking_id = decode_id(paid["booking"]["id"])
    first, second, third = paid["vouchers"]
    await redeem(staff(shop), first["code"], shop.store)
    expire(sql, [decode_id(second["id"])])
    await refund_expired_vouchers(orders.database, orders.services)
    assert refunds_of(sql, booking_id) == [(Decimal("6.00"), "SUCCEEDED", EXPIRY_REASON)]
    assert booking_state(sql, booking_id) == ("CONFIRMED", None)  # the third can be used
    assert remaining(sql, shop) == 8
    expire(sql, [decode_id(third["id"])])
    sql.execute(
        "UPDATE deals SET valid_until = now() - interval '1 second',"
        " valid_from = now() - interval '2 days' WHERE id = %s",
        [shop.deal_id],
    )
    await refund_expired_vouchers(orders.database, orders.services)
    assert [r[0] for r in refunds_of(sql, booking_id)] == [Decimal("6.00"), Decimal("6.00")]
    assert booking_state(sql, booking_id) == ("EXPIRED", EXPIRY_REASON)
    assert remaining(sql, shop) == 8  # the deal's sale has ended: no unit goes back
    assert booking_accounts(sql, booking_id) == {
        "customer_funds": Decimal("-6.00"),
        "platform_escrow": Decimal("0.00"),
        "merchant_payable": Decimal("5.40"),
        "platform_commission": Decimal("0.60"),
    }
    assert_ledger_balanced(sql)
