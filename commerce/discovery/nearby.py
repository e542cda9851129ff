"""Nearby discovery rules: validate and clamp the request, run it, apply opening hours.

Opening hours are judged by :mod:`commerce.hours` (the same code as ``Store.isOpenNow``), so
when a request filters on them the SQL side returns every (entity, store) pair in the
radius (bounded by ``MAX_HOURS_CANDIDATES``) and the page is cut here, with the same sort
keys and cursors as the pure-SQL path. Sorted by DISTANCE, the pairs of the nearest stores are
tried first (``geo.nearby.nearby_knn_pairs``): the page is kept when it is provably the same
as from every pair. Without a text query RELEVANCE sorts as DISTANCE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.cursors import decode_cursor, encode_cursor
from commerce.discovery.filters import validate_deal_filter
from commerce.errors import UserInputError
from commerce.hours import is_open
from db.database import Database, DriverConnection
from domain.filters import DealFilterValues
from domain.sorting import SortOrder, without_text
from geo.nearby import Columns as Columns
from geo.nearby import Entity as Entity
from geo.nearby import NearbyHit as NearbyHit
from geo.nearby import NearbyPage as NearbyPage
from geo.nearby import (
    NearbyParams,
    knn_candidates,
    nearby_knn_pairs,
    nearby_page,
    nearby_pairs,
    plans_generically,
)

MAX_RADIUS_M = 50_000.0
MAX_FIRST = 100
MAX_HOURS_CANDIDATES = 20_000


@dataclass(frozen=True, slots=True)
class NearbyRequest:
    """A nearby request as the edge decoded it, before any validation."""

    entity: Entity
    lat: float
    lng: float
    radius_m: float
    sort: SortOrder
    first: int
    now: datetime
    after: str | None = None
    filter: DealFilterValues = field(default_factory=DealFilterValues)
    with_total: bool = False


def validate(request: NearbyRequest) -> tuple[NearbyParams, datetime | None]:
    """Return the SQL parameters and the instant stores must be open at (if filtered)."""
    check_point(request.lat, request.lng)
    if not math.isfinite(request.radius_m) or not 0 < request.radius_m <= MAX_RADIUS_M:
        raise UserInputError("radiusMeters", f"radiusMeters must be in (0, {MAX_RADIUS_M:.0f}]")
    if not 1 <= request.first <= MAX_FIRST:
        raise UserInputError("first", f"first must be between 1 and {MAX_FIRST}")
    rules = validate_deal_filter(request.filter, request.now)
    sort = without_text(request.sort)
    params = NearbyParams(
        entity=request.entity,
        lat=request.lat,
        lng=request.lng,
        radius_m=request.radius_m,
        sort=sort,
        limit=request.first,
        now=request.now,
        after=decode_cursor(request.after, sort) if request.after else None,
        conditions=rules,
        with_total=request.with_total,
    )
    return params, rules.open_at


async def find_nearby_on_driver(
    conn: DriverConnection[Any], request: NearbyRequest, columns: Columns | None
) -> NearbyPage:
    """The page of :func:`read_nearby` on a bare psycopg connection (``Database.driver``:
    compiled operations), with only ``columns`` selected when given; a request filtered by
    opening hours reads through :func:`read_nearby` (``ValueError`` here)."""
    params, open_at = validate(request)
    if open_at is not None:
        raise ValueError("opening-hours filters read through read_nearby")
    return await nearby_page(conn, params, columns=columns)


async def read_nearby(database: Database, request: NearbyRequest) -> NearbyPage:
    """One page (normal execution), read where its statement plans best: the exact KNN page
    on a driver connection, whose generic plan PostgreSQL would otherwise re-plan on every
    execution at a million stores (``geo.nearby.on_generic_plan``); any other page (other
    sorts, wide radii, opening hours) on the engine's, where PostgreSQL chooses."""
    params, open_at = validate(request)
    if open_at is None and plans_generically(params):
        async with database.driver() as conn:
            return await nearby_page(conn, params)
    async with database.read() as conn:
        if open_at is None:
            return await nearby_page(conn, params)
        return await _find_open(conn, params, open_at, knn=True)


async def find_nearby(
    conn: AsyncConnection, request: NearbyRequest, *, knn: bool = True
) -> NearbyPage:
    """One page on ``conn``; ``knn=False`` never tries the nearest stores first (for
    comparisons). Requests are served by :func:`read_nearby`, which picks the connection."""
    params, open_at = validate(request)
    if open_at is None:
        return await nearby_page(conn, params, knn=knn)
    return await _find_open(conn, params, open_at, knn=knn)


async def _find_open(
    conn: AsyncConnection, params: NearbyParams, open_at: datetime, *, knn: bool
) -> NearbyPage:
    """The page of entities at stores open at ``open_at`` (judged here, not in SQL)."""
    if knn and params.sort is SortOrder.DISTANCE:
        # opening hours skip stores: look at twice as many as without them
        near = await nearby_knn_pairs(
            conn, params, 2 * knn_candidates(params.limit + 1, params.conditions)
        )
        ordered, total = _open_in_order(near.pairs, params, open_at)
        if near.complete or (
            not params.with_total
            and len(ordered) > params.limit
            and ordered[params.limit].distance_m < near.exact_below
        ):
            return replace(_page(ordered, total, params), knn_tier=1)
    pairs = await nearby_pairs(conn, params, MAX_HOURS_CANDIDATES)
    if len(pairs) > MAX_HOURS_CANDIDATES:
        raise UserInputError(
            "radiusMeters",
            "too many stores in this radius to filter by opening hours; use a smaller radius",
        )
    return page_of_open(pairs, params, open_at)


def cursor_of(request: NearbyRequest, hit: NearbyHit) -> str:
    """The opaque keyset cursor that continues ``request``'s list after ``hit``."""
    return encode_cursor(without_text(request.sort), hit.sort_key)


def page_of_open(pairs: list[NearbyHit], params: NearbyParams, at: datetime) -> NearbyPage:
    """Nearest open store per entity, then the same ordering and keyset as the SQL path."""
    return _page(*_open_in_order(pairs, params, at), params)


def _open_in_order(
    pairs: list[NearbyHit], params: NearbyParams, at: datetime
) -> tuple[list[NearbyHit], int]:
    """Each entity at its nearest open store, in sort-key order after the cursor; and how
    many entities there are before the cursor is applied."""
    best: dict[int, NearbyHit] = {}
    for hit in pairs:  # nearest first, so the first open store seen per entity wins
        store = hit.store
        if hit.entity.id in best:
            continue
        if is_open(
            store.opening_hours, store.timezone, store.country_code, at, store.special_hours
        ):
            best[hit.entity.id] = hit
    ordered = sorted(best.values(), key=lambda h: h.sort_key)
    total = len(ordered)
    if params.after is not None:
        after = params.after
        ordered = [h for h in ordered if h.sort_key > after]
    return ordered, total


def _page(ordered: list[NearbyHit], total: int, params: NearbyParams) -> NearbyPage:
    return NearbyPage(
        hits=ordered[: params.limit],
        total=total if params.with_total else None,
        has_next=len(ordered) > params.limit,
    )


def check_point(lat: float, lng: float) -> None:
    if not math.isfinite(lat) or not -90 <= lat <= 90:
        raise UserInputError("near.lat", "latitude must be between -90 and 90")
    if not math.isfinite(lng) or not -180 <= lng <= 180:
        raise UserInputError("near.lng", "longitude must be between -180 and 180")
