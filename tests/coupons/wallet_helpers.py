"""What the wallet and coupon-insights tests share: coupons, members and segments written
directly (the campaign API has its own tests), staff callers, and cleanup."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.conftest import GraphQL
from tests.orders.fixtures import Caller, Shop, ShopFactory, token

SAVE_SEGMENT = """mutation($input: SaveSegmentInput!) { saveSegment(input: $input) { id } }"""
ISSUE = """mutation($input: IssueCouponInput!) { issueCoupon(input: $input) {
  issued segmentSize } }"""


def manager_of(gql: GraphQL, shop: Shop) -> Caller:
    subject = f"staff-{uuid.uuid4().hex[:10]}"
    return Caller(gql, token(subject, "merchant", shop.merchant_id, staff_role="manager"), subject)


def add_coupon(
    sql: psycopg.Connection[Any],
    shop: Shop,
    *,
    percent: str = "10",
    stock: int | None = None,
    platform_funded: bool = False,
    status: str = "PUBLISHED",
) -> int:
    row = sql.execute(
        "INSERT INTO coupons (merchant_id, title, kind, percent_off, currency, valid_from,"
        " valid_until, total_quantity, remaining_quantity, status, platform_funded)"
        " VALUES (%s, 'Test coupon', 'PERCENT_OFF', %s, 'EUR', now() - interval '1 day',"
        " now() + interval '30 days', %s, %s, %s, %s) RETURNING id",
        [shop.merchant_id, Decimal(percent), stock, stock, status, platform_funded],
    ).fetchone()
    assert row is not None
    for store_id in shop.store_ids:
        sql.execute("INSERT INTO coupon_stores VALUES (%s, %s)", [row[0], store_id])
    return int(row[0])


def add_member(sql: psycopg.Connection[Any], shop: Shop, subject: str, visits: int) -> None:
    first = "now() - interval '10 days'" if visits else "NULL"
    sql.execute(
        "INSERT INTO memberships (merchant_id, subject, joined_how, currency, visits,"
        f" total_spend, first_visit_at, last_visit_at) VALUES (%s, %s, 'EXPLICIT', 'EUR', %s,"
        f" 0, {first}, {first})",
        [shop.merchant_id, subject, visits],
    )


async def save_segment(manager: Caller, shop: Shop, min_visits: int) -> str:
    data = await manager.data(
        SAVE_SEGMENT,
        {
            "input": {
                "merchantId": shop.merchant,
                "name": f"regulars {uuid.uuid4().hex[:6]}",
                "filter": {"minVisits": min_visits},
            }
        },
    )
    return str(data["saveSegment"]["id"])


@pytest.fixture
def coupon_shops(shops: ShopFactory, sql: psycopg.Connection[Any]) -> Iterator[ShopFactory]:
    """``shops`` whose coupon rows are removed before the shops are."""
    yield shops
    with sql.transaction():
        sql.execute("SET LOCAL o2o.purge = 'on'")
        for table in ("coupon_redemptions", "claimed_coupons"):
            sql.execute(f"DELETE FROM {table} WHERE merchant_id = ANY(%s)", [shops.merchant_ids])
        sql.execute("DELETE FROM coupons WHERE merchant_id = ANY(%s)", [shops.merchant_ids])
