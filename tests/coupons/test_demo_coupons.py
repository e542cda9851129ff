"""The README's "Coupons at the counter" on the seeded demo data: the three cafes' coupons
are found near the Helsinki centre; a customer claims Cafe Ekberg's (with its attribution
token) and a cashier of its store uses it on a bill, under and over the minimum."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.coupons.campaign_helpers import customer_of, redeem
from tests.orders.fixtures import Caller, token

NEARBY = """{ nearbyCoupons(near: {lat: 60.168, lng: 24.94}, radiusMeters: 1500) {
  edges { distanceMeters store { id name } attribution
          node { id title kind value minBill { amount currency } } } } }"""
CLAIM = """mutation($input: ClaimCouponInput!) { claimCoupon(input: $input) {
  __typename ... on CouponClaimed { claimed { id code status } } } }"""
EKBERG = "osm:node/151006533:coupon:0"


@pytest.fixture
def demo_claims(sql: psycopg.Connection[Any]) -> Iterator[None]:
    """The seeded coupons stay; the claims and uses the test makes go."""
    yield
    with sql.transaction():
        sql.execute("SET LOCAL o2o.purge = 'on'")
        for table in ("coupon_redemptions", "claimed_coupons"):
            sql.execute(
                f"DELETE FROM {table} WHERE coupon_id IN"
                " (SELECT id FROM coupons WHERE external_key IS NOT NULL)"
            )


async def test_a_customer_claims_a_seeded_coupon_and_a_cashier_uses_it(
    gql: GraphQL, sql: psycopg.Connection[Any], demo_claims: None
) -> None:
    row = sql.execute(
        "SELECT c.id, c.merchant_id, cs.store_id FROM coupons c"
        " JOIN coupon_stores cs ON cs.coupon_id = c.id WHERE c.external_key = %s",
        [EKBERG],
    ).fetchone()
    assert row is not None
    coupon_id, merchant_id, store_id = row
    alice = customer_of(gql)
    edges = (await alice.data(NEARBY))["nearbyCoupons"]["edges"]
    assert sorted(e["store"]["name"] for e in edges) == ["Cafe Ekberg", "Roasberg", "Théhuone"]
    edge = next(e for e in edges if e["node"]["id"] == to_global_id("Coupon", coupon_id))
    assert edge["node"]["kind"] == "AMOUNT_OFF" and edge["node"]["value"] == "3.00"
    assert edge["node"]["minBill"] == {"amount": "15.00", "currency": "EUR"}
    payload = {
        "couponId": edge["node"]["id"],
        "idempotencyKey": uuid.uuid4().hex,
        "attribution": edge["attribution"],
    }
    claimed = (await alice.data(CLAIM, {"input": payload}))["claimCoupon"]
    assert claimed["__typename"] == "CouponClaimed", claimed
    code = claimed["claimed"]["code"]
    subject = f"till-{uuid.uuid4().hex[:8]}"
    bearer = token(subject, "merchant", merchant_id, staff_role="cashier", store_id=store_id)
    cashier = Caller(gql, bearer, subject)
    store = to_global_id("Store", store_id)
    below = await redeem(cashier, code, store, "14.90")
    assert below["__typename"] == "BillBelowMinimum"
    used = await redeem(cashier, code, store, "18.40")
    assert used["__typename"] == "CouponRedeemed", used
    assert (used["discount"]["amount"], used["payable"]["amount"]) == ("3.00", "15.40")
    again = await redeem(cashier, code, store, "18.40")
    assert again["__typename"] == "CouponAlreadyRedeemed"
    channel = sql.execute(
        "SELECT channel FROM claimed_coupons WHERE user_id = %s", [alice.subject]
    ).fetchone()
    assert channel == ("NEARBY",)
