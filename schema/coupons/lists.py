"""The coupon lists on other types: ``Merchant.coupons`` and ``me.coupons`` (resolvers
attached there, kept here so that ``schema/types.py`` does not import the coupon types)."""

from __future__ import annotations

from commerce.coupons.campaigns import coupons_of_merchant
from commerce.coupons.claims import coupons_of_user
from commerce.paging import decode_id_cursor, encode_id_cursor, page_size
from schema.coupons.types import (
    ClaimedCoupon,
    ClaimedCouponConnection,
    ClaimedCouponEdge,
    Coupon,
    CouponConnection,
    CouponEdge,
)
from schema.paging import page_info
from schema.types import ContextInfo


async def merchant_coupons(
    info: ContextInfo, merchant_id: int, first: int | None, after: str | None
) -> CouponConnection:
    limit = page_size(20 if first is None else first)
    after_id = decode_id_cursor(after) if after else 0
    rows = await coupons_of_merchant(
        info.context.database,
        info.context.viewer,
        merchant_id,
        after_id,
        limit + 1,
        info.context.now(),
    )
    for row in rows:
        info.context.loaders.coupon.prime(row.id, row)
    edges = [
        CouponEdge(cursor=encode_id_cursor(r.id), node=Coupon.from_row(r)) for r in rows[:limit]
    ]
    return CouponConnection(
        edges=edges, page_info=page_info([e.cursor for e in edges], len(rows) > limit)
    )


async def my_coupons(
    info: ContextInfo, subject: str, first: int | None, after: str | None
) -> ClaimedCouponConnection:
    services = info.context.require_services()
    before = decode_id_cursor(after) if after else None
    limit = page_size(20 if first is None else first)
    page = await coupons_of_user(info.context.database, services, subject, before, limit)
    edges = [
        ClaimedCouponEdge(cursor=encode_id_cursor(v.row.id), node=ClaimedCoupon.from_view(v))
        for v in page.rows
    ]
    return ClaimedCouponConnection(
        edges=edges,
        page_info=page_info([e.cursor for e in edges], page.has_next),
        total_count=page.total,
    )
