"""A merchant's coupon figures in SQL: claims, redemptions, discount and bill revenue per
coupon and per channel, and the members it gained, over a period ``[start, end)``.

- claims: wallet entries made in the period (``claimed_coupons.claimed_at``), claimed by the
  customer (``claimCoupon``) or issued to a segment (``issueCoupon``);
- redemptions, discount and bill revenue: ``coupon_redemptions`` not reversed, by
  ``redeemed_at``, in the asked currency (the bill and the discount the cashier recorded);
- channel: the claim's attribution (``claimed_coupons.channel`` and ``partner_key_id``, set
  from a signed attribution token like a booking's; none: DIRECT, partner key 0); a
  redemption counts for its claim's channel;
- members gained: memberships of the merchant that began in the period (``joined_at``) and
  still exist (a member who left is only an anonymous aggregate).

With a store, claims count for coupons valid there and redemptions for those made there.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.insights_sql import Scope

MAX_COUPONS = 1000  # per insights answer; the most claimed first

_CLAIMS = """
    claims AS (
      SELECT cc.coupon_id, coalesce(cc.channel, 'DIRECT') AS channel,
             coalesce(cc.partner_key_id, 0) AS partner, count(*) AS n
      FROM claimed_coupons cc
      WHERE cc.merchant_id = :merchant AND cc.claimed_at >= :start AND cc.claimed_at < :end
        AND (CAST(:store AS bigint) IS NULL OR EXISTS (
              SELECT 1 FROM coupon_stores cs
              WHERE cs.coupon_id = cc.coupon_id AND cs.store_id = :store))
      GROUP BY 1, 2, 3
    ),
    used AS (
      SELECT cr.coupon_id, coalesce(cc.channel, 'DIRECT') AS channel,
             coalesce(cc.partner_key_id, 0) AS partner, count(*) AS n,
             sum(cr.discount) AS discount, sum(cr.bill_amount) AS bill
      FROM coupon_redemptions cr JOIN claimed_coupons cc ON cc.id = cr.claimed_coupon_id
      WHERE cr.merchant_id = :merchant AND cr.reversed_at IS NULL AND cr.currency = :currency
        AND cr.redeemed_at >= :start AND cr.redeemed_at < :end
        AND (CAST(:store AS bigint) IS NULL OR cr.store_id = :store)
      GROUP BY 1, 2, 3
    ),
    lines AS (
      SELECT coalesce(c.coupon_id, u.coupon_id) AS coupon_id,
             coalesce(c.channel, u.channel) AS channel,
             coalesce(c.partner, u.partner) AS partner,
             coalesce(c.n, 0) AS claims, coalesce(u.n, 0) AS redemptions,
             coalesce(u.discount, 0) AS discount, coalesce(u.bill, 0) AS bill
      FROM claims c FULL JOIN used u
        ON u.coupon_id = c.coupon_id AND u.channel = c.channel AND u.partner = c.partner
    )"""

BY_COUPON = text(
    f"""
    WITH {_CLAIMS}
    SELECT l.coupon_id, k.title, sum(l.claims) AS claims, sum(l.redemptions) AS redemptions,
           sum(l.discount) AS discount, sum(l.bill) AS bill
    FROM lines l JOIN coupons k ON k.id = l.coupon_id
    GROUP BY l.coupon_id, k.title
    ORDER BY sum(l.claims) DESC, l.coupon_id
    LIMIT {MAX_COUPONS}
    """
)

BY_CHANNEL = text(
    f"""
    WITH {_CLAIMS}
    SELECT l.channel, l.partner, sum(l.claims) AS claims, sum(l.redemptions) AS redemptions,
           sum(l.discount) AS discount, sum(l.bill) AS bill
    FROM lines l
    GROUP BY l.channel, l.partner
    """
)

MEMBERS_GAINED = text(
    """
    SELECT count(*) FROM memberships
    WHERE merchant_id = :merchant AND joined_at >= :start AND joined_at < :end
    """
)


@dataclass(frozen=True, slots=True)
class CouponFigure:
    """One coupon over the period."""

    coupon_id: int
    title: str
    claims: int
    redemptions: int
    discount: Decimal
    bill_revenue: Decimal


@dataclass(frozen=True, slots=True)
class CouponChannelFigure:
    """One (channel, partner key) of the merchant's coupons over the period."""

    channel: str
    partner_key_id: int  # 0: none
    claims: int
    redemptions: int
    discount: Decimal
    bill_revenue: Decimal


async def by_coupon(conn: AsyncConnection, scope: Scope) -> list[CouponFigure]:
    """Each coupon with a claim or a redemption in the period (at most ``MAX_COUPONS``)."""
    result = await conn.execute(BY_COUPON, scope.params())
    return [
        CouponFigure(
            coupon_id=int(row.coupon_id),
            title=str(row.title),
            claims=int(row.claims),
            redemptions=int(row.redemptions),
            discount=Decimal(row.discount),
            bill_revenue=Decimal(row.bill),
        )
        for row in result
    ]


async def by_channel(conn: AsyncConnection, scope: Scope) -> list[CouponChannelFigure]:
    """The same figures per channel and partner key."""
    result = await conn.execute(BY_CHANNEL, scope.params())
    return [
        CouponChannelFigure(
            channel=str(row.channel),
            partner_key_id=int(row.partner),
            claims=int(row.claims),
            redemptions=int(row.redemptions),
            discount=Decimal(row.discount),
            bill_revenue=Decimal(row.bill),
        )
        for row in result
    ]


async def members_gained(conn: AsyncConnection, scope: Scope) -> int:
    """Memberships of the merchant that began in the period and still exist."""
    result = await conn.execute(MEMBERS_GAINED, scope.params())
    return int(result.scalar_one())
