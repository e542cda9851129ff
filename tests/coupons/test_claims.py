"""``claimCoupon`` and ``me.coupons`` on the real stack: exact under races (32 claims of 10
coupons give 10), the per-user limit, audiences, replays, codes as vouchers but never
colliding with them, and what cannot be claimed."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg

from tests.conftest import GraphQL
from tests.coupons.campaign_helpers import (
    CLAIM,
    PAUSE,
    WALLET,
    campaign_shops,
    claimed_code,
    customer_of,
    published,
    staff_of,
)
from tests.helpers import decode_id
from tests.orders.fixtures import ShopFactory

__all__ = ["campaign_shops"]


def claim_input(coupon_id: str, key: str | None = None) -> dict[str, Any]:
    return {"input": {"couponId": coupon_id, "idempotencyKey": key or uuid.uuid4().hex}}


async def test_32_concurrent_claims_of_10_coupons_give_exactly_10(
    gql: GraphQL, campaign_shops: ShopFactory, sql: psycopg.Connection[Any]
) -> None:
    shop = campaign_shops()
    coupon = await published(staff_of(gql, shop, "manager"), shop, totalQuantity=10)
    customers = [customer_of(gql) for _ in range(32)]
    results = await asyncio.gather(*(c.data(CLAIM, claim_input(coupon["id"])) for c in customers))
    kinds = [r["claimCoupon"]["__typename"] for r in results]
    assert kinds.count("CouponClaimed") == 10
    assert kinds.count("CouponSoldOut") == 22
    sold_out = next(
        r["claimCoupon"] for r in results if r["claimCoupon"]["__typename"] != "CouponClaimed"
    )
    assert sold_out["code"] == "COUPON_SOLD_OUT"
    coupon_id = decode_id(coupon["id"])
    row = sql.execute(
        "SELECT remaining_quantity, (SELECT count(*) FROM claimed_coupons WHERE coupon_id = %s)"
        " FROM coupons WHERE id = %s",
        [coupon_id, coupon_id],
    ).fetchone()
    assert row == (0, 10)
    codes = {r["claimCoupon"]["claimed"]["code"] for r in results if "claimed" in r["claimCoupon"]}
    assert len(codes) == 10


async def test_per_user_limit_and_replays(gql: GraphQL, campaign_shops: ShopFactory) -> None:
    shop = campaign_shops()
    coupon = await published(staff_of(gql, shop, "manager"), shop, perUserLimit=2)
    customer = customer_of(gql)
    first = (await customer.data(CLAIM, claim_input(coupon["id"], "k1")))["claimCoupon"]
    replay = (await customer.data(CLAIM, claim_input(coupon["id"], "k1")))["claimCoupon"]
    assert first["__typename"] == replay["__typename"] == "CouponClaimed"
    assert first["claimed"]["id"] == replay["claimed"]["id"]
    assert first["claimed"]["code"] == replay["claimed"]["code"]
    second = (await customer.data(CLAIM, claim_input(coupon["id"], "k2")))["claimCoupon"]
    assert second["__typename"] == "CouponClaimed"
    third = (await customer.data(CLAIM, claim_input(coupon["id"], "k3")))["claimCoupon"]
    assert third["__typename"] == "PerUserLimitReached" and third["limit"] == 2
    other = await published(staff_of(gql, shop, "manager"), shop)
    reused = await customer(CLAIM, claim_input(other["id"], "k1"))
    assert reused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    wallet = (await customer.data(WALLET))["me"]["coupons"]
    assert wallet["totalCount"] == 2
    newest_first = [edge["node"]["id"] for edge in wallet["edges"]]
    assert newest_first == [second["claimed"]["id"], first["claimed"]["id"]]
    assert all(edge["node"]["status"] == "ISSUED" for edge in wallet["edges"])
    assert (await customer_of(gql).data(WALLET))["me"]["coupons"]["totalCount"] == 0


async def test_the_claimed_coupon_has_its_own_code_and_qr(
    gql: GraphQL, campaign_shops: ShopFactory
) -> None:
    shop = campaign_shops()
    coupon = await published(staff_of(gql, shop, "manager"), shop)
    claimed = await claimed_code(customer_of(gql), coupon["id"])
    groups = claimed["code"].split("-")
    assert [len(g) for g in groups] == [4, 4, 4, 2]
    assert claimed["qrSvg"].startswith("<svg")
    assert claimed["coupon"]["id"] == coupon["id"]
    assert claimed["status"] == "ISSUED"
    assert claimed["validUntil"] == coupon["validUntil"]
    stranger = await customer_of(gql)(
        "query($id: ID!) { node(id: $id) { id } }", {"id": claimed["id"]}
    )
    assert stranger["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_what_cannot_be_claimed(gql: GraphQL, campaign_shops: ShopFactory) -> None:
    shop = campaign_shops()
    manager = staff_of(gql, shop, "manager")
    members_only = await published(manager, shop, audience="MEMBERS")
    result = (await customer_of(gql).data(CLAIM, claim_input(members_only["id"])))["claimCoupon"]
    assert result["__typename"] == "CouponNotForYou" and "members" in result["message"]
    paused = await published(manager, shop)
    move = {"couponId": paused["id"], "expectedVersion": paused["version"]}
    await manager.data(PAUSE, {"input": move})
    result = (await customer_of(gql).data(CLAIM, claim_input(paused["id"])))["claimCoupon"]
    assert result["__typename"] == "CouponNotForYou" and "PAUSED" in result["message"]
    none_left = await published(manager, shop, totalQuantity=0)
    result = (await customer_of(gql).data(CLAIM, claim_input(none_left["id"])))["claimCoupon"]
    assert result["__typename"] == "CouponSoldOut"
    body = await customer_of(gql)(CLAIM, claim_input(shop.deal))
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    anonymous = await gql(CLAIM, claim_input(paused["id"]))
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_members_and_segments_claim_what_is_aimed_at_them(
    gql: GraphQL, campaign_shops: ShopFactory, sql: psycopg.Connection[Any]
) -> None:
    shop, other = campaign_shops(), campaign_shops()
    manager = staff_of(gql, shop, "manager")
    regular, newcomer, outsider = customer_of(gql), customer_of(gql), customer_of(gql)
    for customer, visits in ((regular, 5), (newcomer, 0)):
        first = "now() - interval '10 days'" if visits else "NULL"
        sql.execute(
            "INSERT INTO memberships (merchant_id, subject, joined_how, currency, visits,"
            f" total_spend, first_visit_at, last_visit_at) VALUES (%s, %s, 'EXPLICIT', 'EUR',"
            f" %s, 0, {first}, {first})",
            [shop.merchant_id, customer.subject, visits],
        )
    segment = await manager.data(
        """mutation($input: SaveSegmentInput!) { saveSegment(input: $input) { id } }""",
        {"input": {"merchantId": shop.merchant, "name": "regulars", "filter": {"minVisits": 3}}},
    )
    segment_id = segment["saveSegment"]["id"]
    members = await published(manager, shop, audience="MEMBERS")
    regulars = await published(manager, shop, audience="SEGMENT", segmentId=segment_id)
    expected = {
        (members["id"], regular.subject): "CouponClaimed",
        (members["id"], newcomer.subject): "CouponClaimed",
        (members["id"], outsider.subject): "CouponNotForYou",
        (regulars["id"], regular.subject): "CouponClaimed",
        (regulars["id"], newcomer.subject): "CouponNotForYou",
        (regulars["id"], outsider.subject): "CouponNotForYou",
    }
    for (coupon_id, subject), kind in expected.items():
        caller = next(c for c in (regular, newcomer, outsider) if c.subject == subject)
        result = (await caller.data(CLAIM, claim_input(coupon_id)))["claimCoupon"]
        assert result["__typename"] == kind, (coupon_id, subject, result)
    foreign = await staff_of(gql, other, "manager").data(
        """mutation($input: CreateCouponInput!) { createCoupon(input: $input) {
          __typename ... on InvalidInput { field } } }""",
        {
            "input": {
                "merchantId": other.merchant,
                "title": "x",
                "kind": "PERCENT_OFF",
                "value": "5",
                "validFrom": members["validFrom"],
                "validUntil": members["validUntil"],
                "storeIds": [other.store],
                "audience": "SEGMENT",
                "segmentId": segment_id,
            }
        },
    )
    assert foreign["createCoupon"] == {"__typename": "InvalidInput", "field": "input.segmentId"}
