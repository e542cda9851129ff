"""A scripted coupon journey gives exactly its numbers in ``Merchant.insights``: claims with
and without a ``nearbyCoupons`` attribution token (one through a partner key; a forged and
another coupon's token count as DIRECT), redemptions with their bills (one reversed, so it
does not count), one platform-funded coupon, members gained (one who left does not count).
The platform-funded discounts are ``COUPON_DISCOUNT`` lines of ``Merchant.statement`` and
the ledger sums to zero per currency and per journal."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.coupons.campaign_helpers import REVERSE, redeem, staff_of
from tests.coupons.wallet_helpers import add_coupon, coupon_shops
from tests.insights.journey import period
from tests.members.helpers import JOIN, LEAVE
from tests.money.test_ledger import assert_ledger_balanced
from tests.orders.fixtures import REMOTE, Caller, Shop, ShopFactory

__all__ = ["coupon_shops"]

NEARBY = """query($near: GeoPointInput!) {
  nearbyCoupons(near: $near, radiusMeters: 5000, first: 50) {
    edges { node { id } attribution } } }"""
CLAIM = """mutation($input: ClaimCouponInput!) { claimCoupon(input: $input) {
  __typename ... on CouponClaimed { claimed { id code } } } }"""
MONEY = "{ amount currency }"
INSIGHTS = f"""query($id: ID!, $from: DateTime!, $to: DateTime!, $storeId: ID) {{
  merchant(id: $id) {{ insights(from: $from, to: $to, storeId: $storeId) {{
    coupons {{ couponId title claims redemptions discount {MONEY} billRevenue {MONEY} }}
    couponsByChannel {{ channel partner partnerKeyId claims redemptions
      discount {MONEY} billRevenue {MONEY} }}
    membersGained totals {{ bookings redemptions }} }} }} }}"""
STATEMENT = """query($id: ID!, $from: Date!, $to: Date!) { merchant(id: $id) {
  statement(from: $from, to: $to) { lines { kind amount { amount currency } movesBalance }
    openingBalance { amount } closingBalance { amount } } } }"""
NEAR = {"lat": REMOTE[0], "lng": REMOTE[1]}


async def token_of(who: Caller, coupon_id: int, **headers: str) -> str:
    """One nearbyCoupons request; the coupon's attribution token."""
    body = await who.gql(NEARBY, {"near": NEAR}, Authorization=f"Bearer {who.bearer}", **headers)
    assert "errors" not in body, body
    wanted = to_global_id("Coupon", coupon_id)
    found = [
        e["attribution"]
        for e in body["data"]["nearbyCoupons"]["edges"]
        if e["node"]["id"] == wanted
    ]
    assert len(found) == 1 and found[0], body
    token: str = found[0]
    return token


async def claim(who: Caller, coupon_id: int, attribution: str | None = None) -> str:
    """The claimed coupon's code."""
    payload: dict[str, Any] = {
        "couponId": to_global_id("Coupon", coupon_id),
        "idempotencyKey": uuid.uuid4().hex,
    }
    if attribution is not None:
        payload["attribution"] = attribution
    result = (await who.data(CLAIM, {"input": payload}))["claimCoupon"]
    assert result["__typename"] == "CouponClaimed", result
    code: str = result["claimed"]["code"]
    return code


def euros(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def line(coupon_id: int, claims: int, redemptions: int, discount: str, bill: str) -> Any:
    return {
        "couponId": to_global_id("Coupon", coupon_id),
        "title": "Test coupon",
        "claims": claims,
        "redemptions": redemptions,
        "discount": euros(discount),
        "billRevenue": euros(bill),
    }


async def test_a_scripted_coupon_journey_gives_exactly_its_numbers(
    gql: GraphQL,
    coupon_shops: ShopFactory,
    customer: Callable[[], Caller],
    sql: psycopg.Connection[Any],
    make_key: Callable[..., str],
) -> None:
    shop: Shop = coupon_shops(stores=1)
    merchant_funded = add_coupon(sql, shop, percent="10")
    platform_funded = add_coupon(sql, shop, percent="20", platform_funded=True)
    name = f"coupon partner {uuid.uuid4().hex[:8]}"
    key = make_key(name=name)
    row = sql.execute("SELECT id FROM api_keys WHERE name = %s", [name]).fetchone()
    assert row is not None
    partner_id = int(row[0])
    ann, bob, cat, dan, eve, fay = (customer() for _ in range(6))

    # claims: the merchant-funded coupon by ann (NEARBY), bob (NEARBY through the partner's
    # key) and cat (no token); the platform-funded one by dan (NEARBY) and eve (the other
    # coupon's token: DIRECT)
    ann_code = await claim(ann, merchant_funded, await token_of(ann, merchant_funded))
    await claim(bob, merchant_funded, await token_of(bob, merchant_funded, **{"X-API-Key": key}))
    cat_code = await claim(cat, merchant_funded)
    dan_code = await claim(dan, platform_funded, await token_of(dan, platform_funded))
    eve_code = await claim(eve, platform_funded, await token_of(eve, merchant_funded))
    stored = sql.execute(
        "SELECT user_id, coupon_id, channel, partner_key_id FROM claimed_coupons"
        " WHERE merchant_id = %s",
        [shop.merchant_id],
    ).fetchall()
    assert {r[0]: (r[1], r[2], r[3]) for r in stored} == {
        ann.subject: (merchant_funded, "NEARBY", None),
        bob.subject: (merchant_funded, "NEARBY", partner_id),
        cat.subject: (merchant_funded, "DIRECT", None),
        dan.subject: (platform_funded, "NEARBY", None),
        eve.subject: (platform_funded, "DIRECT", None),
    }

    # members: ann, dan and fay join, fay leaves again
    for who in (ann, dan, fay):
        await who.data(JOIN, {"input": {"merchantId": shop.merchant}})
    assert (await fay.data(LEAVE, {"input": {"merchantId": shop.merchant}}))["leaveMembership"]

    # redemptions with their bills: 10 % of 40.00 and of 25.50, 20 % of 33.33 (6.666 is
    # 6.67 half up); eve's 10.00 is redeemed, then reversed
    cashier = staff_of(gql, shop, "cashier")
    bills = ((ann_code, "40.00"), (cat_code, "25.50"), (dan_code, "33.33"), (eve_code, "10.00"))
    used = [await redeem(cashier, code, shop.store, bill) for code, bill in bills]
    assert [u["__typename"] for u in used] == ["CouponRedeemed"] * 4
    assert [u["discount"]["amount"] for u in used] == ["4.00", "2.55", "6.67", "2.00"]
    eve_claim = sql.execute(
        "SELECT id FROM claimed_coupons WHERE user_id = %s", [eve.subject]
    ).fetchone()
    assert eve_claim is not None
    undo = {
        "input": {
            "claimedCouponId": to_global_id("ClaimedCoupon", eve_claim[0]),
            "reason": "wrong customer",
        }
    }
    undone = (await cashier.data(REVERSE, undo))["reverseCouponRedemption"]
    assert undone["__typename"] == "CouponRedemptionReversed", undone

    # the figures, exactly
    owner = staff_of(gql, shop, "owner")
    found = (await owner.data(INSIGHTS, {"id": shop.merchant, **period()}))["merchant"]["insights"]
    assert found["coupons"] == [
        line(merchant_funded, 3, 2, "6.55", "65.50"),
        line(platform_funded, 2, 1, "6.67", "33.33"),
    ]
    assert found["couponsByChannel"] == [
        {
            "channel": "NEARBY",
            "partner": None,
            "partnerKeyId": None,
            "claims": 2,
            "redemptions": 2,
            "discount": euros("10.67"),
            "billRevenue": euros("73.33"),
        },
        {
            "channel": "NEARBY",
            "partner": name,
            "partnerKeyId": partner_id,
            "claims": 1,
            "redemptions": 0,
            "discount": euros("0.00"),
            "billRevenue": euros("0.00"),
        },
        {
            "channel": "DIRECT",
            "partner": None,
            "partnerKeyId": None,
            "claims": 2,
            "redemptions": 1,
            "discount": euros("2.55"),
            "billRevenue": euros("25.50"),
        },
    ]
    assert found["membersGained"] == 2
    assert found["totals"] == {"bookings": 0, "redemptions": 0}  # coupons are not bookings

    # narrowed to the store: the same; another period: nothing
    narrowed = await owner.data(INSIGHTS, {"id": shop.merchant, "storeId": shop.store, **period()})
    assert narrowed["merchant"]["insights"]["coupons"] == found["coupons"]
    earlier = {
        "from": (datetime.now(UTC) - timedelta(days=3)).isoformat(),
        "to": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
    }
    empty = (await owner.data(INSIGHTS, {"id": shop.merchant, **earlier}))["merchant"]["insights"]
    assert (empty["coupons"], empty["couponsByChannel"], empty["membersGained"]) == ([], [], 0)

    # the platform-funded discounts on the statement: +6.67, +2.00 and its reversal -2.00
    today = datetime.now(UTC).date()
    days = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    statement = (await owner.data(STATEMENT, {"id": shop.merchant, **days}))["merchant"][
        "statement"
    ]
    discounts = [x for x in statement["lines"] if x["kind"] == "COUPON_DISCOUNT"]
    assert sorted(Decimal(x["amount"]["amount"]) for x in discounts) == [
        Decimal("-2.00"),
        Decimal("2.00"),
        Decimal("6.67"),
    ]
    assert all(x["amount"]["currency"] == "EUR" and x["movesBalance"] for x in discounts)
    moved = Decimal(statement["closingBalance"]["amount"]) - Decimal(
        statement["openingBalance"]["amount"]
    )
    assert moved == Decimal("6.67")  # the platform owes the merchant the standing discount
    journals = sql.execute(
        "SELECT j.kind, sum(e.amount) FILTER (WHERE a.kind = 'merchant_payable')"
        " FROM ledger_journals j JOIN ledger_entries e ON e.journal_id = j.id"
        " JOIN ledger_accounts a ON a.id = e.account_id"
        " WHERE j.merchant_id = %s GROUP BY j.kind ORDER BY j.kind",
        [shop.merchant_id],
    ).fetchall()
    assert journals == [("COUPON", Decimal("8.67")), ("COUPON_BACK", Decimal("-2.00"))]
    assert_ledger_balanced(sql)
