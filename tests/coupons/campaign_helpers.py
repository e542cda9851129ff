"""What the campaign, claim and redemption tests share: shops whose coupon rows are purged,
staff and customer callers, and the GraphQL documents."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.conftest import GraphQL
from tests.orders.fixtures import Caller, Shop, ShopFactory, token

COUPON_FIELDS = """
  id title kind value currency minBill { amount currency } validFrom validUntil
  totalQuantity remainingQuantity perUserLimit audience segmentId status version
  stores { id } merchant { id }
"""
COUPON_RESULT = f"""
  __typename
  ... on CouponSaved {{ coupon {{ {COUPON_FIELDS} }} }}
  ... on InvalidInput {{ message field }}
  ... on VersionConflict {{ message currentVersion }}
  ... on NotAllowed {{ message }}
"""
CREATE = f"""mutation($input: CreateCouponInput!) {{ createCoupon(input: $input) {{
  {COUPON_RESULT} }} }}"""
UPDATE = f"""mutation($input: UpdateCouponInput!) {{ updateCoupon(input: $input) {{
  {COUPON_RESULT} }} }}"""
PUBLISH = f"""mutation($input: CouponMoveInput!) {{ publishCoupon(input: $input) {{
  {COUPON_RESULT} }} }}"""
PAUSE = f"""mutation($input: CouponMoveInput!) {{ pauseCoupon(input: $input) {{
  {COUPON_RESULT} }} }}"""
END = f"""mutation($input: CouponMoveInput!) {{ endCoupon(input: $input) {{
  {COUPON_RESULT} }} }}"""
CLAIM = """mutation($input: ClaimCouponInput!) { claimCoupon(input: $input) {
  __typename
  ... on CouponClaimed { claimed { id code qrSvg status validUntil coupon { id } } }
  ... on Error { code message }
  ... on PerUserLimitReached { limit }
} }"""
REDEEM = """mutation($input: RedeemCouponInput!) { redeemCoupon(input: $input) {
  __typename
  ... on CouponRedeemed { discount { amount currency } payable { amount currency } freeItem
    claimed { id status }
    redemption { billAmount { amount currency } discount { amount } payable { amount }
      store { id } staffId reversedAt } }
  ... on BillBelowMinimum { minBill { amount currency } }
  ... on CouponAlreadyRedeemed { redeemedAt }
  ... on Error { code message }
} }"""
REVERSE = """mutation($input: ReverseCouponRedemptionInput!) {
  reverseCouponRedemption(input: $input) {
    __typename
    ... on CouponRedemptionReversed { claimed { id status } redemption { reversedAt } }
    ... on Error { code message }
  } }"""
WALLET = """{ me { coupons(first: 10) { totalCount edges { node { id code status
  coupon { id } } } } } }"""


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def staff_of(gql: GraphQL, shop: Shop, role: str, store: int | None = None) -> Caller:
    subject = f"staff-{uuid.uuid4().hex[:10]}"
    bearer = token(subject, "merchant", shop.merchant_id, staff_role=role, store_id=store)
    return Caller(gql, bearer, subject)


def customer_of(gql: GraphQL) -> Caller:
    subject = f"user-{uuid.uuid4().hex[:10]}"
    return Caller(gql, token(subject), subject)


def coupon_input(shop: Shop, **fields: Any) -> dict[str, Any]:
    return {
        "merchantId": shop.merchant,
        "title": "10 % off your bill",
        "kind": "PERCENT_OFF",
        "value": "10",
        "validFrom": iso(-timedelta(hours=1)),
        "validUntil": iso(timedelta(days=30)),
        "storeIds": [shop.store],
        **fields,
    }


async def created(manager: Caller, shop: Shop, **fields: Any) -> dict[str, Any]:
    result = (await manager.data(CREATE, {"input": coupon_input(shop, **fields)}))["createCoupon"]
    assert result["__typename"] == "CouponSaved", result
    coupon: dict[str, Any] = result["coupon"]
    return coupon


async def published(manager: Caller, shop: Shop, **fields: Any) -> dict[str, Any]:
    coupon = await created(manager, shop, **fields)
    move = {"couponId": coupon["id"], "expectedVersion": coupon["version"]}
    result = (await manager.data(PUBLISH, {"input": move}))["publishCoupon"]
    assert result["__typename"] == "CouponSaved", result
    saved: dict[str, Any] = result["coupon"]
    return saved


async def claimed_code(customer: Caller, coupon_id: str) -> dict[str, Any]:
    variables = {"input": {"couponId": coupon_id, "idempotencyKey": uuid.uuid4().hex}}
    result = (await customer.data(CLAIM, variables))["claimCoupon"]
    assert result["__typename"] == "CouponClaimed", result
    claimed: dict[str, Any] = result["claimed"]
    return claimed


async def redeem(
    cashier: Caller, code: str, store: str, amount: str, currency: str = "EUR"
) -> dict[str, Any]:
    variables = {
        "input": {
            "code": code,
            "storeId": store,
            "billAmount": {"amount": amount, "currency": currency},
            "idempotencyKey": uuid.uuid4().hex,
        }
    }
    result: dict[str, Any] = (await cashier.data(REDEEM, variables))["redeemCoupon"]
    return result


def purge_coupons(sql: psycopg.Connection[Any], merchant_ids: list[int]) -> None:
    """Claimed coupons and redemptions do not cascade with their merchant: remove them."""
    with sql.transaction():
        sql.execute("SET LOCAL o2o.purge = 'on'")
        for table in ("coupon_redemptions", "claimed_coupons"):
            sql.execute(f"DELETE FROM {table} WHERE merchant_id = ANY(%s)", [merchant_ids])
        sql.execute("DELETE FROM coupons WHERE merchant_id = ANY(%s)", [merchant_ids])


@pytest.fixture
def campaign_shops(sql: psycopg.Connection[Any]) -> Iterator[ShopFactory]:
    """Shops (merchant, stores, a deal) whose coupons are removed before the shops are."""
    factory = ShopFactory(sql)
    yield factory
    purge_coupons(sql, factory.merchant_ids)
    factory.purge()
