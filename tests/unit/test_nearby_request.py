"""Nearby requests (``commerce.discovery.nearby``): what is refused before any SQL, what the
SQL side is asked for, and how a page is cut when opening hours are judged in Python."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from commerce.cursors import encode_cursor
from commerce.discovery.nearby import (
    MAX_FIRST,
    MAX_RADIUS_M,
    Entity,
    NearbyHit,
    NearbyRequest,
    page_of_open,
    validate,
)
from commerce.errors import UserInputError
from db.rows import MerchantRow, StoreRow
from domain.filters import DealFilterValues
from domain.sorting import SortOrder

NOW = datetime(2026, 6, 5, 12, 0, tzinfo=UTC)  # a Friday, 15:00 in Helsinki
REQUEST = NearbyRequest(
    entity=Entity.DEAL,
    lat=60.17,
    lng=24.94,
    radius_m=2000.0,
    sort=SortOrder.DISTANCE,
    first=20,
    now=NOW,
)


def refused_on(request: NearbyRequest) -> str:
    with pytest.raises(UserInputError) as caught:
        validate(request)
    return caught.value.argument


def test_a_plain_request_becomes_sql_parameters_without_an_hours_instant() -> None:
    params, open_at = validate(REQUEST)
    assert (params.lat, params.lng, params.radius_m) == (60.17, 24.94, 2000.0)
    assert params.limit == 20 and params.after is None and params.now == NOW
    assert params.sort is SortOrder.DISTANCE and params.entity is Entity.DEAL
    assert open_at is None


@pytest.mark.parametrize(
    ("lat", "lng", "argument"),
    [
        (90.01, 0.0, "near.lat"),
        (-90.01, 0.0, "near.lat"),
        (float("nan"), 0.0, "near.lat"),
        (0.0, 180.01, "near.lng"),
        (0.0, float("-inf"), "near.lng"),
    ],
)
def test_a_point_off_the_globe_is_refused(lat: float, lng: float, argument: str) -> None:
    assert refused_on(replace(REQUEST, lat=lat, lng=lng)) == argument


@pytest.mark.parametrize(("lat", "lng"), [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0)])
def test_the_edges_of_the_globe_are_points(lat: float, lng: float) -> None:
    params, _ = validate(replace(REQUEST, lat=lat, lng=lng))
    assert (params.lat, params.lng) == (lat, lng)


@pytest.mark.parametrize("radius", [0.0, -1.0, MAX_RADIUS_M + 0.5, float("nan"), float("inf")])
def test_a_radius_outside_the_bound_is_refused(radius: float) -> None:
    assert refused_on(replace(REQUEST, radius_m=radius)) == "radiusMeters"


def test_the_largest_radius_is_accepted() -> None:
    assert validate(replace(REQUEST, radius_m=MAX_RADIUS_M))[0].radius_m == MAX_RADIUS_M


@pytest.mark.parametrize("first", [0, -5, MAX_FIRST + 1])
def test_a_page_size_outside_the_bound_is_refused(first: int) -> None:
    assert refused_on(replace(REQUEST, first=first)) == "first"


def test_the_filter_is_checked_by_the_shared_rules() -> None:
    bad_price = replace(REQUEST, filter=DealFilterValues(price_min="ten"))
    assert refused_on(bad_price) == "filter.priceMin"
    params, open_at = validate(
        replace(REQUEST, filter=DealFilterValues(categories=("spa", "food"), open_now=True))
    )
    assert params.conditions.categories == ("food", "spa")
    assert open_at == NOW


def test_the_cursor_is_decoded_for_the_requests_sort() -> None:
    key = (Decimal("12.50"), 150.0, 7)
    cursor = encode_cursor(SortOrder.PRICE_ASC, key)
    params, _ = validate(replace(REQUEST, sort=SortOrder.PRICE_ASC, after=cursor))
    assert params.after == key
    assert refused_on(replace(REQUEST, sort=SortOrder.PRICE_DESC, after=cursor)) == "after"


def test_relevance_without_a_text_query_sorts_by_distance() -> None:
    cursor = encode_cursor(SortOrder.DISTANCE, (150.0, 7))
    params, _ = validate(replace(REQUEST, sort=SortOrder.RELEVANCE, after=cursor))
    assert params.sort is SortOrder.DISTANCE and params.after == (150.0, 7)


# --- the page cut in Python when opening hours filter -----------------------------------

OPEN = "Mo-Su 09:00-18:00"  # open at NOW in Helsinki
SHUT = "Mo-Su 20:00-22:00"


def hit(entity_id: int, store_id: int, distance: float, hours: str | None) -> NearbyHit:
    merchant = MerchantRow(
        id=entity_id,
        name=f"m{entity_id}",
        names={},
        category_slug="food",
        price_level=None,
        rating=None,
        review_count=0,
    )
    store = StoreRow(
        id=store_id,
        merchant_id=entity_id,
        name=f"s{store_id}",
        address=None,
        lat=60.17,
        lng=24.94,
        timezone="Europe/Helsinki",
        country_code="FI",
        opening_hours=hours,
    )
    return NearbyHit(merchant, merchant, store, distance, (distance, entity_id))


def open_page(pairs: list[NearbyHit], first: int = 20, after: str | None = None) -> list[int]:
    request = replace(REQUEST, entity=Entity.MERCHANT, first=first, after=after)
    params, _ = validate(request)
    return [h.store.id for h in page_of_open(pairs, params, NOW).hits]


def test_each_entity_appears_once_at_its_nearest_open_store() -> None:
    pairs = [hit(1, 11, 100.0, SHUT), hit(2, 21, 150.0, OPEN), hit(1, 12, 200.0, OPEN)]
    pairs += [hit(1, 13, 300.0, OPEN), hit(3, 31, 50.0, None)]  # 3: hours unknown
    assert open_page(pairs) == [21, 12]


def test_the_open_page_keeps_the_keyset_order_and_counts() -> None:
    pairs = [hit(i, 100 + i, float(10 * i), OPEN) for i in range(1, 6)]
    request = replace(REQUEST, entity=Entity.MERCHANT, first=2, with_total=True)
    params, _ = validate(request)
    page = page_of_open(pairs, params, NOW)
    assert [h.store.id for h in page.hits] == [101, 102]
    assert page.has_next and page.total == 5
    after = encode_cursor(SortOrder.DISTANCE, page.hits[-1].sort_key)
    assert open_page(pairs, first=2, after=after) == [103, 104]
    last = encode_cursor(SortOrder.DISTANCE, (50.0, 5))
    assert open_page(pairs, first=2, after=last) == []
