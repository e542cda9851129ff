"""``Merchant.insights``: a merchant's funnel per time bucket, by channel and partner key.

The steps, in order: impressions (the deal was in a ``nearbyDeals``, ``searchDeals`` or
``dealsInView`` result), detail views (``deal(id:)``/``node`` lookups), bookings, paid
orders, redemptions, reviews; then gross revenue, refunds and net in the merchant's
currency. Each step's conversion rate is that step over the one before (null when the one
before is zero); a rate may exceed 1, since a step can be reached without the one before it
(a booking straight from a list, several vouchers of one paid order).

Buckets start at ``date_trunc`` of the granularity in the merchant's time zone (its first
store's; UTC without stores), cover ``[from, to)``, and are at most ``MAX_BUCKETS``. The
transaction figures are exact (``db/insights_sql.py``); impressions and views are counted
per UTC hour, flushed every ``FUNNEL_FLUSH_INTERVAL_S`` (:mod:`.funnel`). Who may see them:
staff with ``view_insights`` (``commerce/identity/roles.py``); a store-bound cashier only
with ``storeId`` of its store.

Coupons (``db/coupon_insights_sql.py``): claims, redemptions, the discount given and the
bill revenue of coupon visits over the whole period, per coupon and per channel (a claim's
attribution, as a booking's), and the members the merchant gained. They concern the whole
merchant (``dealId`` does not narrow them; ``storeId`` does).
"""

from __future__ import annotations

import bisect
import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from commerce.errors import UserInputError
from commerce.identity import roles
from commerce.identity.principal import Principal
from commerce.insights.attribution import Channel
from db import coupon_insights_sql, insights_sql, orders_sql
from db.coupon_insights_sql import CouponChannelFigure, CouponFigure
from db.database import Database
from db.insights_sql import BucketFigure, ChannelFigure, Scope

CouponLine = CouponFigure  # one coupon over the period (schema reads it from here)
MAX_BUCKETS = 400
DEFAULT_CURRENCY = "EUR"  # a merchant without deals has no money figures to show


class Granularity(enum.Enum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


_LENGTH = {
    Granularity.HOUR: timedelta(hours=1),
    Granularity.DAY: timedelta(days=1),
    Granularity.WEEK: timedelta(weeks=1),
}


@dataclass(frozen=True, slots=True)
class InsightsRequest:
    merchant_id: int
    start: datetime
    end: datetime
    granularity: Granularity = Granularity.DAY
    store_id: int | None = None
    deal_id: int | None = None


@dataclass(slots=True)
class Figures:
    """The funnel over one bucket (or the whole period)."""

    impressions: int = 0
    detail_views: int = 0
    bookings: int = 0
    paid_orders: int = 0
    redemptions: int = 0
    reviews: int = 0
    gross: Decimal = Decimal("0.00")
    refunds: Decimal = Decimal("0.00")

    @property
    def net(self) -> Decimal:
        return self.gross - self.refunds

    def add(self, other: Figures) -> None:
        self.impressions += other.impressions
        self.detail_views += other.detail_views
        self.bookings += other.bookings
        self.paid_orders += other.paid_orders
        self.redemptions += other.redemptions
        self.reviews += other.reviews
        self.gross += other.gross
        self.refunds += other.refunds

    def take(self, found: BucketFigure) -> None:
        money = found.money or Decimal("0.00")
        match found.figure:
            case "impressions":
                self.impressions += found.count
            case "detail_views":
                self.detail_views += found.count
            case "bookings":
                self.bookings += found.count
            case "paid":
                self.paid_orders += found.count
                self.gross += money
            case "refunds":
                self.refunds += money
            case "redemptions":
                self.redemptions += found.count
            case "reviews":
                self.reviews += found.count


def rate(step: int, before: int) -> float | None:
    """``step / before`` to 4 decimals; None when nothing came before."""
    return None if before == 0 else round(step / before, 4)


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime
    figures: Figures


@dataclass(slots=True)
class ChannelLine:
    """One (channel, partner key) over the period."""

    channel: Channel
    partner_key_id: int | None
    partner_name: str | None = None
    impressions: int = 0
    bookings: int = 0
    redemptions: int = 0


@dataclass(frozen=True, slots=True)
class CouponChannelLine:
    """The coupons of one (channel, partner key) over the period."""

    channel: Channel
    partner_key_id: int | None
    partner_name: str | None
    claims: int
    redemptions: int
    discount: Decimal
    bill_revenue: Decimal


@dataclass(frozen=True, slots=True)
class CouponInsights:
    """What the merchant's coupons did in the period."""

    by_coupon: list[CouponFigure] = field(default_factory=list)
    by_channel: list[CouponChannelLine] = field(default_factory=list)
    members_gained: int = 0


@dataclass(frozen=True, slots=True)
class Insights:
    zone: str
    currency: str
    granularity: Granularity
    start: datetime
    end: datetime
    buckets: list[Bucket]
    by_channel: list[ChannelLine]
    totals: Figures = field(default_factory=Figures)
    coupons: CouponInsights = field(default_factory=CouponInsights)


def _floor(local: datetime, granularity: Granularity) -> datetime:
    if granularity is Granularity.HOUR:
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.date()
    if granularity is Granularity.WEEK:
        day -= timedelta(days=day.weekday())  # ISO weeks start on Monday, like date_trunc
    return datetime.combine(day, time(), local.tzinfo)


def _next(start: datetime, granularity: Granularity, zone: ZoneInfo) -> datetime:
    if granularity is Granularity.HOUR:  # absolute hours: DST shifts do not repeat or skip
        return (start.astimezone(UTC) + _LENGTH[granularity]).astimezone(zone)
    return datetime.combine(start.date() + _LENGTH[granularity], time(), zone)


def bucket_starts(
    start: datetime, end: datetime, granularity: Granularity, zone: str
) -> list[datetime]:
    """The starts of the buckets covering ``[start, end)`` in ``zone``; ``BAD_USER_INPUT``
    for a period that is empty, naive or longer than ``MAX_BUCKETS`` buckets."""
    if start.tzinfo is None or end.tzinfo is None:
        raise UserInputError("from", "from and to need a UTC offset")
    if end <= start:
        raise UserInputError("to", "to must be after from")
    too_many = f"at most {MAX_BUCKETS} buckets: choose a shorter period or a coarser granularity"
    if end - start > _LENGTH[granularity] * (MAX_BUCKETS + 1):
        raise UserInputError("to", too_many)
    tz = ZoneInfo(zone)
    current = _floor(start.astimezone(tz), granularity)
    starts: list[datetime] = []
    while current < end:
        starts.append(current)
        if len(starts) > MAX_BUCKETS:
            raise UserInputError("to", too_many)
        current = _next(current, granularity, tz)
    return starts


def _buckets(starts: list[datetime], found: list[BucketFigure]) -> list[Bucket]:
    """Each figure into the bucket whose start is the last at or before its own."""
    buckets = [Bucket(start, Figures()) for start in starts]
    stamps = [start.timestamp() for start in starts]
    for item in found:
        index = bisect.bisect_right(stamps, item.bucket.timestamp()) - 1
        buckets[max(index, 0)].figures.take(item)
    return buckets


def _channels(found: list[ChannelFigure], names: dict[int, str]) -> list[ChannelLine]:
    lines: dict[tuple[str, int], ChannelLine] = {}
    for item in found:
        if item.count == 0:  # a key's detail views alone, no impression
            continue
        key = (item.channel, item.partner_key_id)
        line = lines.get(key)
        if line is None:
            partner = item.partner_key_id or None
            line = ChannelLine(Channel(item.channel), partner, names.get(item.partner_key_id))
            lines[key] = line
        setattr(line, item.figure, getattr(line, item.figure) + item.count)
    order = list(Channel)
    return sorted(lines.values(), key=lambda x: (order.index(x.channel), x.partner_key_id or 0))


def _coupon_channels(
    found: list[CouponChannelFigure], names: dict[int, str]
) -> list[CouponChannelLine]:
    order = list(Channel)
    lines = [
        CouponChannelLine(
            channel=Channel(item.channel),
            partner_key_id=item.partner_key_id or None,
            partner_name=names.get(item.partner_key_id),
            claims=item.claims,
            redemptions=item.redemptions,
            discount=item.discount,
            bill_revenue=item.bill_revenue,
        )
        for item in found
    ]
    return sorted(lines, key=lambda x: (order.index(x.channel), x.partner_key_id or 0))


async def merchant_insights(
    database: Database, principal: Principal | None, request: InsightsRequest
) -> Insights:
    """The merchant's funnel in ``request``'s period; FORBIDDEN for anyone but its staff."""
    roles.require(principal, "view_insights", request.merchant_id, request.store_id)
    async with database.read() as conn:
        if request.store_id is not None and (
            await orders_sql.store_of_merchant(conn, request.merchant_id, request.store_id) is None
        ):
            raise UserInputError("storeId", "not a store of this merchant")
        if request.deal_id is not None and not await insights_sql.deal_of_merchant(
            conn, request.merchant_id, request.deal_id
        ):
            raise UserInputError("dealId", "not a deal of this merchant")
        zone = await orders_sql.first_store_zone(conn, request.merchant_id) or "UTC"
        starts = bucket_starts(request.start, request.end, request.granularity, zone)
        currency = await insights_sql.merchant_currency(conn, request.merchant_id, request.deal_id)
        scope = Scope(
            merchant_id=request.merchant_id,
            start=request.start,
            end=request.end,
            unit=request.granularity.value,
            zone=zone,
            currency=currency or DEFAULT_CURRENCY,
            deal_id=request.deal_id,
            store_id=request.store_id,
        )
        figures = await insights_sql.bucket_figures(conn, scope)
        channel_figures = await insights_sql.channel_figures(conn, scope)
        coupon_figures: list[CouponFigure] = await coupon_insights_sql.by_coupon(conn, scope)
        coupon_channels = await coupon_insights_sql.by_channel(conn, scope)
        gained = await coupon_insights_sql.members_gained(conn, scope)
        partners = sorted(
            {f.partner_key_id for f in channel_figures if f.partner_key_id}
            | {f.partner_key_id for f in coupon_channels if f.partner_key_id}
        )
        names = await insights_sql.partner_names(conn, partners)
    buckets = _buckets(starts, figures)
    totals = Figures()
    for bucket in buckets:
        totals.add(bucket.figures)
    return Insights(
        zone=zone,
        currency=scope.currency,
        granularity=request.granularity,
        start=request.start,
        end=request.end,
        buckets=buckets,
        by_channel=_channels(channel_figures, names),
        totals=totals,
        coupons=CouponInsights(
            by_coupon=coupon_figures,
            by_channel=_coupon_channels(coupon_channels, names),
            members_gained=gained,
        ),
    )
