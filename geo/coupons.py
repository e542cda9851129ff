"""``nearbyCoupons``: one PostGIS statement, the sibling of ``geo/nearby.py``'s full plan.

Stores within the radius (``ST_DWithin`` on geography, GiST) with their spheroid distance,
the published coupons valid at them now (``valid_from <= now < valid_until``, units left),
each coupon once at its nearest store, ordered by ``(distance, coupon id)`` with a keyset
cursor as one row-value comparison; one row more than the page tells whether more follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog_sql import STORE_COLUMNS
from db.coupon_rows import CouponRow
from db.coupons_sql import COUPON_COLUMNS
from db.rows import StoreRow
from db.tables import coupon_stores, coupons, stores
from geo.nearby import query_point


@dataclass(frozen=True, slots=True)
class CouponParams:
    lat: float
    lng: float
    radius_m: float
    limit: int
    now: datetime
    after: tuple[float, int] | None = None


@dataclass(frozen=True, slots=True)
class CouponHit:
    coupon: CouponRow
    store: StoreRow
    distance_m: float

    @property
    def sort_key(self) -> tuple[float, int]:
        return (self.distance_m, self.coupon.id)


@lru_cache(maxsize=4)
def page_statement(after: bool) -> Select[Any]:
    point = query_point()
    near = (
        select(
            stores.c.id.label("store_id"),
            func.ST_Distance(stores.c.location, point).label("distance"),
        )
        .where(func.ST_DWithin(stores.c.location, point, bindparam("radius")))
        .cte("near_stores")
        .prefix_with("MATERIALIZED")
    )
    nearest = (
        select(coupons.c.id.label("coupon_id"), near.c.store_id, near.c.distance)
        .select_from(near)
        .join(coupon_stores, coupon_stores.c.store_id == near.c.store_id)
        .join(coupons, coupons.c.id == coupon_stores.c.coupon_id)
        .where(
            coupons.c.status == "PUBLISHED",
            coupons.c.valid_from <= bindparam("now"),
            coupons.c.valid_until > bindparam("now"),
            or_(coupons.c.remaining_quantity.is_(None), coupons.c.remaining_quantity > 0),
        )
        .ext(distinct_on(coupons.c.id))
        .order_by(coupons.c.id, near.c.distance, near.c.store_id)
        .cte("nearest")
    )
    page = select(nearest).order_by(nearest.c.distance, nearest.c.coupon_id)
    if after:
        page = page.where(
            tuple_(nearest.c.distance, nearest.c.coupon_id)
            > tuple_(bindparam("after_distance"), bindparam("after_id"))
        )
    chosen = page.limit(bindparam("limit")).subquery("page")
    return (
        select(chosen.c.distance, *COUPON_COLUMNS, *[c.label(f"s_{c.key}") for c in STORE_COLUMNS])
        .select_from(chosen)
        .join(coupons, coupons.c.id == chosen.c.coupon_id)
        .join(stores, stores.c.id == chosen.c.store_id)
        .order_by(chosen.c.distance, chosen.c.coupon_id)
    )


async def nearby_coupons(
    conn: AsyncConnection, params: CouponParams
) -> tuple[list[CouponHit], bool]:
    """One page of coupons near the point, nearest first, and whether more follow."""
    values: dict[str, Any] = {
        "lat": params.lat,
        "lng": params.lng,
        "radius": params.radius_m,
        "now": params.now,
        "limit": params.limit + 1,
    }
    if params.after is not None:
        values["after_distance"], values["after_id"] = params.after
    result = await conn.execute(page_statement(params.after is not None), values)
    hits = []
    for row in result.mappings():
        coupon = CouponRow(**{name: row[name] for name in CouponRow.__dataclass_fields__})
        store = StoreRow(**{name: row[f"s_{name}"] for name in StoreRow.__dataclass_fields__})
        hits.append(CouponHit(coupon, store, float(row["distance"])))
    return hits[: params.limit], len(hits) > params.limit
