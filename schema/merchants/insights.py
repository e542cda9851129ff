"""``Merchant.insights``: the live funnel per time bucket, by channel and partner key.

The rules and the figures are in ``commerce/insights/insights.py``; this module decodes the
arguments and maps the result.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, TypeVar

import strawberry

from commerce.insights.insights import (
    CouponChannelLine,
    CouponLine,
    Figures,
    Granularity,
    Insights,
    InsightsRequest,
    merchant_insights,
    rate,
)
from schema.caller import int_id
from schema.ids import to_global_id
from schema.types import ContextInfo, Money


@strawberry.enum(name="InsightsGranularity", description="How long each bucket is.")
class InsightsGranularity(enum.Enum):
    HOUR = strawberry.enum_value("HOUR", description="An hour (absolute hours across DST).")
    DAY = strawberry.enum_value("DAY", description="A day from local midnight.")
    WEEK = strawberry.enum_value("WEEK", description="A week from Monday, local midnight.")


@strawberry.enum(
    name="InsightsChannel",
    description="Where a deal was found: the discovery field that listed it, else DIRECT.",
)
class InsightsChannel(enum.Enum):
    NEARBY = strawberry.enum_value("NEARBY", description="A nearbyDeals result.")
    SEARCH = strawberry.enum_value("SEARCH", description="A searchDeals result.")
    MAP = strawberry.enum_value("MAP", description="A dealsInView result.")
    DIRECT = strawberry.enum_value(
        "DIRECT", description="No (valid) attribution token: found some other way."
    )


@strawberry.type(
    description="Each step over the one before it; null when the one before is zero. A rate"
    " may exceed 1: a step can be reached without the one before (a booking straight from a"
    " list, several vouchers of one paid order)."
)
class FunnelConversion:
    detail_view_rate: float | None = strawberry.field(description="detailViews / impressions.")
    booking_rate: float | None = strawberry.field(description="bookings / detailViews.")
    payment_rate: float | None = strawberry.field(description="paidOrders / bookings.")
    redemption_rate: float | None = strawberry.field(description="redemptions / paidOrders.")
    review_rate: float | None = strawberry.field(description="reviews / redemptions.")


@strawberry.type(description="The funnel over a bucket or the whole period.")
class InsightsFigures:
    impressions: int = strawberry.field(
        description="Times a deal was in a nearbyDeals, searchDeals or dealsInView result."
    )
    detail_views: int = strawberry.field(description="deal(id:) and node lookups of a deal.")
    bookings: int = strawberry.field(description="Bookings made (whatever became of them).")
    paid_orders: int = strawberry.field(description="Bookings paid (vouchers issued).")
    redemptions: int = strawberry.field(description="Vouchers redeemed (not reversed).")
    reviews: int = strawberry.field(description="Reviews posted.")
    gross_revenue: Money = strawberry.field(description="What the paid orders captured.")
    refunds: Money = strawberry.field(description="Refunds that succeeded.")
    net: Money = strawberry.field(description="grossRevenue - refunds.")
    conversion: FunnelConversion = strawberry.field(description="The rate of each step.")


@strawberry.type(description="One time bucket of the funnel.")
class InsightsBucket(InsightsFigures):
    start: datetime = strawberry.field(description="When the bucket starts (merchant's zone).")


@strawberry.type(description="The funnel of one channel and partner key over the period.")
class ChannelInsights:
    channel: InsightsChannel = strawberry.field(description="Where the deals were found.")
    partner: str | None = strawberry.field(
        description="The name of the partner key the requests carried; null: none."
    )
    partner_key_id: int | None = strawberry.field(description="That key's id; null: none.")
    impressions: int = strawberry.field(description="Impressions through this channel.")
    bookings: int = strawberry.field(description="Bookings attributed to it.")
    redemptions: int = strawberry.field(description="Redemptions of those bookings' vouchers.")


@strawberry.type(
    description="What one coupon did in the period: wallet entries, uses and their money."
)
class CouponInsight:
    coupon_id: strawberry.ID = strawberry.field(description="The coupon.")
    title: str = strawberry.field(description="The coupon's title.")
    claims: int = strawberry.field(
        description="Wallet entries made in the period: claimed by customers or issued to a"
        " segment."
    )
    redemptions: int = strawberry.field(description="Uses on a bill in the period (not reversed).")
    discount: Money = strawberry.field(description="The discount those uses gave.")
    bill_revenue: Money = strawberry.field(
        description="The bills of those uses, before the discount: the revenue of coupon visits."
    )


@strawberry.type(description="The merchant's coupons through one channel and partner key.")
class CouponChannelInsights:
    channel: InsightsChannel = strawberry.field(
        description="Where the coupon was found when it was claimed (DIRECT: no attribution"
        " token, or issued to a segment)."
    )
    partner: str | None = strawberry.field(
        description="The name of the partner key the claim carried; null: none."
    )
    partner_key_id: int | None = strawberry.field(description="That key's id; null: none.")
    claims: int = strawberry.field(description="Claims through this channel.")
    redemptions: int = strawberry.field(description="Uses of those claims.")
    discount: Money = strawberry.field(description="The discount those uses gave.")
    bill_revenue: Money = strawberry.field(description="The bills of those uses.")


@strawberry.type(name="Insights", description="A merchant's live funnel over a period.")
class MerchantInsights:
    time_zone: str = strawberry.field(
        description="The zone of the buckets: the merchant's first store's (UTC without one)."
    )
    currency: str = strawberry.field(description="The currency of the money figures.")
    granularity: InsightsGranularity = strawberry.field(description="The buckets' length.")
    buckets: list[InsightsBucket] = strawberry.field(description="Covering [from, to), in order.")
    by_channel: list[ChannelInsights] = strawberry.field(
        description="Impressions, bookings and redemptions per channel and partner key."
    )
    totals: InsightsFigures = strawberry.field(description="The whole period.")
    coupons: list[CouponInsight] = strawberry.field(
        description="Each coupon with a claim or a use in the period, the most claimed first"
        " (the whole merchant: dealId does not narrow them, storeId does)."
    )
    coupons_by_channel: list[CouponChannelInsights] = strawberry.field(
        description="The same coupon figures per channel and partner key of the claims."
    )
    members_gained: int = strawberry.field(
        description="Memberships that began in the period and still exist."
    )


F = TypeVar("F", bound=InsightsFigures)


def _figures(cls: type[F], figures: Figures, currency: str, **extra: Any) -> F:
    return cls(
        impressions=figures.impressions,
        detail_views=figures.detail_views,
        bookings=figures.bookings,
        paid_orders=figures.paid_orders,
        redemptions=figures.redemptions,
        reviews=figures.reviews,
        gross_revenue=Money.of(figures.gross, currency),
        refunds=Money.of(figures.refunds, currency),
        net=Money.of(figures.net, currency),
        conversion=FunnelConversion(
            detail_view_rate=rate(figures.detail_views, figures.impressions),
            booking_rate=rate(figures.bookings, figures.detail_views),
            payment_rate=rate(figures.paid_orders, figures.bookings),
            redemption_rate=rate(figures.redemptions, figures.paid_orders),
            review_rate=rate(figures.reviews, figures.redemptions),
        ),
        **extra,
    )


def _coupon(figure: CouponLine, currency: str) -> CouponInsight:
    return CouponInsight(
        coupon_id=strawberry.ID(to_global_id("Coupon", figure.coupon_id)),
        title=figure.title,
        claims=figure.claims,
        redemptions=figure.redemptions,
        discount=Money.of(figure.discount, currency),
        bill_revenue=Money.of(figure.bill_revenue, currency),
    )


def _coupon_channel(line: CouponChannelLine, currency: str) -> CouponChannelInsights:
    return CouponChannelInsights(
        channel=InsightsChannel[line.channel.name],
        partner=line.partner_name,
        partner_key_id=line.partner_key_id,
        claims=line.claims,
        redemptions=line.redemptions,
        discount=Money.of(line.discount, currency),
        bill_revenue=Money.of(line.bill_revenue, currency),
    )


def insights_of(found: Insights) -> MerchantInsights:
    currency = found.currency
    return MerchantInsights(
        time_zone=found.zone,
        currency=currency,
        granularity=InsightsGranularity[found.granularity.name],
        buckets=[
            _figures(InsightsBucket, bucket.figures, currency, start=bucket.start)
            for bucket in found.buckets
        ],
        by_channel=[
            ChannelInsights(
                channel=InsightsChannel[line.channel.name],
                partner=line.partner_name,
                partner_key_id=line.partner_key_id,
                impressions=line.impressions,
                bookings=line.bookings,
                redemptions=line.redemptions,
            )
            for line in found.by_channel
        ],
        totals=_figures(InsightsFigures, found.totals, currency),
        coupons=[_coupon(figure, currency) for figure in found.coupons.by_coupon],
        coupons_by_channel=[_coupon_channel(line, currency) for line in found.coupons.by_channel],
        members_gained=found.coupons.members_gained,
    )


async def resolve_insights(
    info: ContextInfo,
    merchant_id: int,
    start: datetime,
    end: datetime,
    granularity: InsightsGranularity | None,
    store_id: strawberry.ID | None,
    deal_id: strawberry.ID | None,
) -> MerchantInsights:
    request = InsightsRequest(
        merchant_id=merchant_id,
        start=start,
        end=end,
        granularity=Granularity[(granularity or InsightsGranularity.DAY).name],
        store_id=None if store_id is None else int_id(store_id, "Store", "storeId"),
        deal_id=None if deal_id is None else int_id(deal_id, "Deal", "dealId"),
    )
    principal = info.context.require_viewer()
    found = await merchant_insights(info.context.database, principal, request)
    return insights_of(found)
