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
    Figures,
    Granularity,
    Insights,
    InsightsRequest,
    merchant_insights,
    rate,
)
from schema.caller import int_id
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
