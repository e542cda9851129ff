"""adjustDealStock over HTTP: every result member, idempotent replays, and 32 customers
booking the same deal while staff take units away 8 times at once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Any

import psycopg

from tests.helpers import decode_id
from tests.merchants.conftest import Merchants
from tests.merchants.deal_helpers import ADJUST_STOCK, DealShop, book, deal_row, run


def adjustment(deal_id: str, delta: int, key: str, reason: str = "recount") -> dict[str, Any]:
    return {"dealId": deal_id, "delta": delta, "reason": reason, "idempotencyKey": key}


async def test_adjust_stock_members_and_replays(
    deal_shop: DealShop, merchants: Merchants, sql: psycopg.Connection[Any]
) -> None:
    deal = await deal_shop.published(totalQuantity=5)
    manager = deal_shop.manager
    raised = await run(manager, ADJUST_STOCK, adjustment(deal["id"], 3, "k1", "delivery"))
    assert raised["__typename"] == "DealSaved", raised
    assert (raised["deal"]["totalQuantity"], raised["deal"]["remainingQuantity"]) == (8, 8)
    assert raised["deal"]["version"] == 3  # created 1, published 2, adjusted 3

    replay = await run(manager, ADJUST_STOCK, adjustment(deal["id"], 3, "k1", "delivery"))
    assert replay["deal"]["remainingQuantity"] == 8  # the first result; nothing changed again
    reused = await manager.error(
        ADJUST_STOCK, {"input": adjustment(deal["id"], 4, "k1", "delivery")}
    )
    assert reused["extensions"] == {"code": "BAD_USER_INPUT", "argument": "idempotencyKey"}

    too_many = await run(manager, ADJUST_STOCK, adjustment(deal["id"], -9, "k2"))
    assert (too_many["__typename"], too_many["field"]) == ("InvalidInput", "input.delta")
    assert too_many["message"] == "only 8 units remain: delta cannot go below zero"
    for who in (deal_shop.cashier, (await merchants()).staff("manager")):
        refused = await run(who, ADJUST_STOCK, adjustment(deal["id"], -1, "k3"))
        assert refused["__typename"] == "NotAllowed", refused
    unlimited = await deal_shop.published(totalQuantity=None)
    result = await run(manager, ADJUST_STOCK, adjustment(unlimited["id"], 5, "k4"))
    assert (result["__typename"], result["field"]) == ("InvalidInput", "input.dealId")
    for bad in ({"delta": 0}, {"reason": " "}, {"idempotencyKey": ""}):
        error = await manager.error(
            ADJUST_STOCK, {"input": {**adjustment(deal["id"], 1, "k5"), **bad}}
        )
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    row = deal_row(sql, deal["id"])
    assert (row["total_quantity"], row["remaining_quantity"]) == (8, 8)
    audited = sql.execute(
        "SELECT before->>'remaining_quantity', after->>'remaining_quantity', after->>'reason'"
        " FROM staff_audit WHERE entity = 'deal' AND entity_id = %s AND action = 'adjust_stock'",
        [str(decode_id(deal["id"]))],
    ).fetchall()
    assert audited == [("5", "8", "delivery")]


async def test_32_bookings_race_8_stock_cuts_and_the_stock_stays_exact(
    deal_shop: DealShop, sql: psycopg.Connection[Any]
) -> None:
    initial = 30
    deal = await deal_shop.published(totalQuantity=initial, perUserLimit=1)
    buyers = [deal_shop.customer() for _ in range(32)]
    manager = deal_shop.manager
    bookings = [book(buyer, deal["id"], "race") for buyer in buyers]
    cuts = [
        run(manager, ADJUST_STOCK, adjustment(deal["id"], -1, f"cut-{uuid.uuid4().hex}"))
        for _ in range(8)
    ]
    results = await asyncio.gather(*bookings, *cuts)
    booked = Counter(r["__typename"] for r in results[:32])
    cut = Counter(r["__typename"] for r in results[32:])
    print(f"\n32 bookDeal + 8 adjustDealStock(-1) on {initial} units: {dict(booked)}, {dict(cut)}")
    assert set(booked) <= {"BookDealSuccess", "SoldOut"}
    assert set(cut) <= {"DealSaved", "InvalidInput"}
    units_booked, units_cut = booked["BookDealSuccess"], cut["DealSaved"]
    assert units_booked + units_cut == initial  # 40 asked for 30: every unit went somewhere
    row = deal_row(sql, deal["id"])
    assert row["remaining_quantity"] == initial - units_booked - units_cut == 0
    assert row["total_quantity"] == initial - units_cut
    held = sql.execute(
        "SELECT coalesce(sum(quantity), 0) FROM bookings WHERE deal_id = %s",
        [decode_id(deal["id"])],
    ).fetchone()
    assert held == (units_booked,)


async def test_cuts_and_bookings_below_demand_all_succeed(
    deal_shop: DealShop, sql: psycopg.Connection[Any]
) -> None:
    """With enough units every one of the 40 calls succeeds, and the stock is the sum."""
    deal = await deal_shop.published(totalQuantity=100, perUserLimit=1)
    manager = deal_shop.manager
    results = await asyncio.gather(
        *(book(deal_shop.customer(), deal["id"], "b") for _ in range(32)),
        *(run(manager, ADJUST_STOCK, adjustment(deal["id"], -1, f"c{i}")) for i in range(8)),
    )
    assert Counter(r["__typename"] for r in results) == {"BookDealSuccess": 32, "DealSaved": 8}
    row = deal_row(sql, deal["id"])
    assert (row["total_quantity"], row["remaining_quantity"]) == (92, 60)
