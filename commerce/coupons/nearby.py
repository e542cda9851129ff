"""``nearbyCoupons`` rules: the same radius, page size, coordinate and cursor rules as
``nearbyDeals`` (``commerce/discovery/nearby.py``), run by ``geo/coupons.py``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from commerce.cursors import decode_opaque, encode_opaque
from commerce.discovery.nearby import MAX_FIRST, MAX_RADIUS_M, check_point
from commerce.errors import UserInputError
from db.database import Database
from geo.coupons import CouponHit, CouponParams, nearby_coupons

CURSOR_KIND = "COUPON_DISTANCE"


@dataclass(frozen=True, slots=True)
class NearbyCouponsRequest:
    lat: float
    lng: float
    radius_m: float
    first: int
    now: datetime
    after: str | None = None


@dataclass(frozen=True, slots=True)
class CouponPage:
    hits: list[CouponHit]
    has_next: bool


def validate(request: NearbyCouponsRequest) -> CouponParams:
    check_point(request.lat, request.lng)
    if not math.isfinite(request.radius_m) or not 0 < request.radius_m <= MAX_RADIUS_M:
        raise UserInputError("radiusMeters", f"radiusMeters must be in (0, {MAX_RADIUS_M:.0f}]")
    if not 1 <= request.first <= MAX_FIRST:
        raise UserInputError("first", f"first must be between 1 and {MAX_FIRST}")
    after = decode_opaque(request.after, CURSOR_KIND, _key) if request.after else None
    return CouponParams(
        lat=request.lat,
        lng=request.lng,
        radius_m=request.radius_m,
        limit=request.first,
        now=request.now,
        after=after,
    )


def _key(values: Any) -> tuple[float, int]:
    if not isinstance(values, list) or len(values) != 2 or isinstance(values[1], bool):
        raise ValueError("wrong key")
    distance, ident = float(values[0]), int(values[1])
    if not math.isfinite(distance):
        raise ValueError("bad key")
    return (distance, ident)


def cursor_of(hit: CouponHit) -> str:
    return encode_opaque(CURSOR_KIND, list(hit.sort_key))


async def find_nearby_coupons(database: Database, request: NearbyCouponsRequest) -> CouponPage:
    params = validate(request)
    async with database.read() as conn:
        hits, has_next = await nearby_coupons(conn, params)
    return CouponPage(hits=hits, has_next=has_next)
