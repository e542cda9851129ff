"""The live funnel in SQL: additive counter flushes and a merchant's figures per time bucket.

Impressions and detail views come from ``funnel_counts`` (migration 0011), counted per UTC
hour. Every transaction figure is counted exactly from its own table, bucketed with
``date_trunc(unit, t, zone)`` in the merchant's zone:

- bookings: ``bookings.created_at``;
- paid orders and gross revenue: a booking is paid when its vouchers were issued (the
  transaction that captured the payment), its revenue what its payments captured;
- refunds: succeeded ``refunds`` by ``created_at``;
- redemptions: ``redemptions.redeemed_at`` of scans not reversed;
- reviews: ``reviews.created_at``; with a deal or store, the reviews whose visit (the
  redemption at ``visited_at``) was of that deal or at that store.

"At a store" is the orders' rule (``db/orders_sql.py``): booked there, or booked without a
store for a deal valid there; impressions of a store are those of the deals valid there.
Money is summed in one currency (the caller picks the merchant's).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import BigInteger, String, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

FLUSH_CHUNK: Final = 5000
# a payment is captured within the hold (at most a day) and the payment grace (at most a
# day) of its booking: paid orders of a period are found among bookings made up to 3 days
# before it
PAID_LOOKBACK: Final = "3 days"


@dataclass(frozen=True, slots=True)
class CountColumns:
    """Counts to add, one entry per (deal, UTC hour, channel, partner key), as columns (a
    flush holds thousands) in the order every flush locks rows in: by hour, channel, partner
    key, then deal (see :data:`ADD_COUNTS`)."""

    deals: list[int]
    hours: list[int]  # Unix seconds of the hour's start
    channels: list[str]
    partners: list[int]  # 0: no partner key
    impressions: list[int]
    views: list[int]

    def __len__(self) -> int:
        return len(self.deals)


# The arrays travel as text literals (one parameter each, built by str.join), not as lists:
# psycopg dumps a list element by element in Python, and a flush sends thousands of them.
# Rows are inserted, so locked, in the order the gateways send them in (`CountColumns`):
# flushes of several processes never wait on each other in a cycle.
ADD_COUNTS = text(
    """
    INSERT INTO funnel_counts AS f
           (deal_id, hour, channel, partner_key_id, impressions, detail_views)
    SELECT u.deal_id, to_timestamp(u.hour), u.channel, u.partner, u.impressions, u.views
    FROM unnest(CAST(:deals AS bigint[]), CAST(:hours AS bigint[]), CAST(:channels AS text[]),
                CAST(:partners AS bigint[]), CAST(:impressions AS bigint[]),
                CAST(:views AS bigint[]))
         AS u(deal_id, hour, channel, partner, impressions, views)
    WHERE EXISTS (SELECT 1 FROM deals d WHERE d.id = u.deal_id)
    ORDER BY u.hour, u.channel COLLATE "C", u.partner, u.deal_id
    ON CONFLICT (deal_id, hour, channel, partner_key_id) DO UPDATE
      SET impressions = f.impressions + EXCLUDED.impressions,
          detail_views = f.detail_views + EXCLUDED.detail_views
    """
).bindparams(
    *[
        bindparam(name, type_=String)
        for name in ("deals", "hours", "channels", "partners", "impressions", "views")
    ]
)


def int_array(values: Iterable[int]) -> str:
    """A PostgreSQL array literal of integers."""
    return "{" + ",".join(map(str, values)) + "}"


def text_array(values: Sequence[str]) -> str:
    """A PostgreSQL array literal of strings (each quoted, backslash and quote escaped; each
    distinct string quoted once: a flush repeats a few channel names thousands of times)."""
    quoted = {v: '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in set(values)}
    return "{" + ",".join(map(quoted.__getitem__, values)) + "}"


async def add_counts(conn: AsyncConnection, counts: CountColumns) -> None:
    """Add the counts to the stored ones, in chunks of :data:`FLUSH_CHUNK` (in the order
    they come in, which concurrent flushes lock in); counts of a deleted deal are dropped."""
    for start in range(0, len(counts), FLUSH_CHUNK):
        chunk = slice(start, start + FLUSH_CHUNK)
        await conn.execute(
            ADD_COUNTS,
            {
                "deals": int_array(counts.deals[chunk]),
                "hours": int_array(counts.hours[chunk]),
                "channels": text_array(counts.channels[chunk]),
                "partners": int_array(counts.partners[chunk]),
                "impressions": int_array(counts.impressions[chunk]),
                "views": int_array(counts.views[chunk]),
            },
        )


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose figures: a merchant, optionally one deal and one store, in a period."""

    merchant_id: int
    start: datetime
    end: datetime
    unit: str  # hour | day | week
    zone: str
    currency: str
    deal_id: int | None = None
    store_id: int | None = None

    def params(self) -> dict[str, Any]:
        return {
            "merchant": self.merchant_id,
            "start": self.start,
            "end": self.end,
            "unit": self.unit,
            "zone": self.zone,
            "currency": self.currency,
            "deal": self.deal_id,
            "store": self.store_id,
        }


# the merchant's deals in scope (one deal, valid at one store)
_DEALS = """
    scoped AS (
      SELECT d.id FROM deals d
      WHERE d.merchant_id = :merchant
        AND (CAST(:deal AS bigint) IS NULL OR d.id = :deal)
        AND (CAST(:store AS bigint) IS NULL OR EXISTS (
              SELECT 1 FROM deal_stores ds WHERE ds.deal_id = d.id AND ds.store_id = :store))
    )"""
_AT_STORE = """(CAST(:store AS bigint) IS NULL OR bk.store_id = :store
       OR (bk.store_id IS NULL AND EXISTS (SELECT 1 FROM deal_stores ds
                                           WHERE ds.deal_id = bk.deal_id
                                             AND ds.store_id = :store)))"""
_BUCKET = "date_trunc(CAST(:unit AS text), {t}, CAST(:zone AS text))"

# (bucket, figure, count, money): one row per bucket and figure
BUCKETS = text(
    f"""
    WITH {_DEALS},
    paid AS (
      SELECT (SELECT min(v.issued_at) FROM vouchers v WHERE v.booking_id = bk.id) AS at,
             (SELECT coalesce(sum(p.amount_captured), 0) FROM payments p
               WHERE p.booking_id = bk.id) AS captured
      FROM bookings bk JOIN scoped s ON s.id = bk.deal_id
      WHERE bk.created_at >= CAST(:start AS timestamptz) - interval '{PAID_LOOKBACK}'
        AND bk.created_at < :end AND bk.currency = :currency AND {_AT_STORE}
    )
    SELECT {_BUCKET.format(t="f.hour")} AS bucket, 'impressions' AS figure,
           sum(f.impressions) AS n, NULL::numeric AS money
      FROM funnel_counts f JOIN scoped s ON s.id = f.deal_id
      WHERE f.hour >= :start AND f.hour < :end GROUP BY 1
    UNION ALL
    SELECT {_BUCKET.format(t="f.hour")}, 'detail_views', sum(f.detail_views), NULL
      FROM funnel_counts f JOIN scoped s ON s.id = f.deal_id
      WHERE f.hour >= :start AND f.hour < :end GROUP BY 1
    UNION ALL
    SELECT {_BUCKET.format(t="bk.created_at")}, 'bookings', count(*), NULL
      FROM bookings bk JOIN scoped s ON s.id = bk.deal_id
      WHERE bk.created_at >= :start AND bk.created_at < :end AND {_AT_STORE} GROUP BY 1
    UNION ALL
    SELECT {_BUCKET.format(t="paid.at")}, 'paid', count(*), sum(paid.captured)
      FROM paid WHERE paid.at >= :start AND paid.at < :end GROUP BY 1
    UNION ALL
    SELECT {_BUCKET.format(t="r.created_at")}, 'refunds', count(*), sum(r.amount)
      FROM refunds r JOIN bookings bk ON bk.id = r.booking_id JOIN scoped s ON s.id = bk.deal_id
      WHERE r.status = 'SUCCEEDED' AND r.currency = :currency
        AND r.created_at >= :start AND r.created_at < :end AND {_AT_STORE} GROUP BY 1
    UNION ALL
    SELECT {_BUCKET.format(t="rd.redeemed_at")}, 'redemptions', count(*), NULL
      FROM redemptions rd JOIN vouchers v ON v.id = rd.voucher_id
      JOIN scoped s ON s.id = v.deal_id
      WHERE rd.merchant_id = :merchant AND rd.reversed_at IS NULL
        AND rd.redeemed_at >= :start AND rd.redeemed_at < :end
        AND (CAST(:store AS bigint) IS NULL OR rd.store_id = :store) GROUP BY 1
    UNION ALL
    SELECT {_BUCKET.format(t="rv.created_at")}, 'reviews', count(*), NULL
      FROM reviews rv
      WHERE rv.merchant_id = :merchant AND rv.created_at >= :start AND rv.created_at < :end
        AND (CAST(:deal AS bigint) IS NULL AND CAST(:store AS bigint) IS NULL OR EXISTS (
              SELECT 1 FROM redemptions rd JOIN vouchers v ON v.id = rd.voucher_id
              JOIN scoped s ON s.id = v.deal_id
              WHERE rd.merchant_id = rv.merchant_id AND v.user_id = rv.author_id
                AND rd.redeemed_at = rv.visited_at
                AND (CAST(:store AS bigint) IS NULL OR rd.store_id = :store)))
      GROUP BY 1
    """
)

# (channel, partner key id, figure, count) over the whole period
CHANNELS = text(
    f"""
    WITH {_DEALS}
    SELECT f.channel, f.partner_key_id AS partner, 'impressions' AS figure,
           sum(f.impressions) AS n
      FROM funnel_counts f JOIN scoped s ON s.id = f.deal_id
      WHERE f.hour >= :start AND f.hour < :end GROUP BY 1, 2
    UNION ALL
    SELECT coalesce(bk.channel, 'DIRECT'), coalesce(bk.partner_key_id, 0), 'bookings', count(*)
      FROM bookings bk JOIN scoped s ON s.id = bk.deal_id
      WHERE bk.created_at >= :start AND bk.created_at < :end AND {_AT_STORE} GROUP BY 1, 2
    UNION ALL
    SELECT coalesce(bk.channel, 'DIRECT'), coalesce(bk.partner_key_id, 0), 'redemptions',
           count(*)
      FROM redemptions rd JOIN vouchers v ON v.id = rd.voucher_id
      JOIN bookings bk ON bk.id = v.booking_id JOIN scoped s ON s.id = v.deal_id
      WHERE rd.merchant_id = :merchant AND rd.reversed_at IS NULL
        AND rd.redeemed_at >= :start AND rd.redeemed_at < :end
        AND (CAST(:store AS bigint) IS NULL OR rd.store_id = :store) GROUP BY 1, 2
    """
)


@dataclass(frozen=True, slots=True)
class BucketFigure:
    bucket: datetime
    figure: str  # impressions | detail_views | bookings | paid | refunds | redemptions | reviews
    count: int
    money: Decimal | None


@dataclass(frozen=True, slots=True)
class ChannelFigure:
    channel: str
    partner_key_id: int  # 0: none
    figure: str  # impressions | bookings | redemptions
    count: int


async def bucket_figures(conn: AsyncConnection, scope: Scope) -> list[BucketFigure]:
    result = await conn.execute(BUCKETS, scope.params())
    return [
        BucketFigure(row["bucket"], str(row["figure"]), int(row["n"] or 0), row["money"])
        for row in result.mappings()
    ]


async def channel_figures(conn: AsyncConnection, scope: Scope) -> list[ChannelFigure]:
    result = await conn.execute(CHANNELS, scope.params())
    return [
        ChannelFigure(str(row["channel"]), int(row["partner"]), str(row["figure"]), int(row["n"]))
        for row in result.mappings()
    ]


async def partner_names(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    result = await conn.execute(
        text("SELECT id, name FROM api_keys WHERE id = ANY(:ids)").bindparams(
            bindparam("ids", type_=ARRAY(BigInteger))
        ),
        {"ids": list(ids)},
    )
    return {int(row.id): str(row.name) for row in result}


async def merchant_currency(
    conn: AsyncConnection, merchant_id: int, deal_id: int | None
) -> str | None:
    """The currency of the deal, else the one most of the merchant's deals use."""
    result = await conn.execute(
        text(
            "SELECT currency FROM deals WHERE merchant_id = :merchant"
            " AND (CAST(:deal AS bigint) IS NULL OR id = :deal)"
            " GROUP BY currency ORDER BY count(*) DESC, currency LIMIT 1"
        ),
        {"merchant": merchant_id, "deal": deal_id},
    )
    found: str | None = result.scalar_one_or_none()
    return found


async def deal_of_merchant(conn: AsyncConnection, merchant_id: int, deal_id: int) -> bool:
    result = await conn.execute(
        text("SELECT 1 FROM deals WHERE id = :deal AND merchant_id = :merchant"),
        {"deal": deal_id, "merchant": merchant_id},
    )
    return result.first() is not None
