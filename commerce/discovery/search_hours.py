"""Opening hours for search results: which matched deals have a store open at an instant.

The index cannot evaluate opening hours, so the same function as ``Store.isOpenNow``
(:mod:`commerce.hours`) judges the stores of at most ``MAX_OPEN_CANDIDATES`` matches, and
the page and facets are cut from the deals that pass.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.hours import is_open
from db.catalog_sql import category_and_price_of_deals, stores_of_deals
from db.rows import StoreRow
from geo.nearby import NearestStore, stores_of_deals_by_distance
from search.queries import PRICE_BUCKETS, Bucket, PriceBucket, SearchHit

MAX_OPEN_CANDIDATES = 1000


@dataclass(frozen=True, slots=True)
class OpenMatch:
    hit: SearchHit
    store: NearestStore | None  # the nearest open store, when the search has a point


async def open_matches(
    conn: AsyncConnection,
    hits: Sequence[SearchHit],
    near: tuple[float, float] | None,
    radius_m: float | None,
    at: datetime,
) -> list[OpenMatch]:
    """The hits (in their order) with a store open at ``at`` (within the radius, if any)."""
    candidates = await _candidate_stores(conn, [hit.deal_id for hit in hits], near, radius_m)
    matches = []
    for hit in hits:
        for store, distance in candidates.get(hit.deal_id, []):
            if is_open(
                store.opening_hours, store.timezone, store.country_code, at, store.special_hours
            ):
                nearest = None if distance is None else NearestStore(store, distance)
                matches.append(OpenMatch(hit, nearest))
                break
    return matches


async def _candidate_stores(
    conn: AsyncConnection,
    ids: list[int],
    near: tuple[float, float] | None,
    radius_m: float | None,
) -> dict[int, list[tuple[StoreRow, float | None]]]:
    """Each deal's stores (with their distance, nearest first, when there is a point)."""
    if near is None:
        by_id = await stores_of_deals(conn, ids)
        return {deal: [(store, None) for store in rows] for deal, rows in by_id.items()}
    by_distance = await stores_of_deals_by_distance(conn, ids, *near)
    limit = math.inf if radius_m is None else radius_m
    return {
        deal: [(s.store, s.distance_m) for s in rows if s.distance_m <= limit]
        for deal, rows in by_distance.items()
    }


async def facets_of(
    conn: AsyncConnection, deal_ids: Sequence[int]
) -> tuple[list[Bucket], list[PriceBucket]]:
    """Category and price-range counts over these deals (as the index would count them)."""
    keys = await category_and_price_of_deals(conn, deal_ids)
    by_category = Counter(category for category, _ in keys.values())
    categories = [
        Bucket(value, count)
        for value, count in sorted(by_category.items(), key=lambda item: (-item[1], item[0]))
    ]
    prices = [
        PriceBucket(
            low,
            high,
            sum(
                1
                for _, price in keys.values()
                if (low is None or price >= low) and (high is None or price < high)
            ),
        )
        for low, high in PRICE_BUCKETS
    ]
    return categories, prices
