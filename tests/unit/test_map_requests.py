"""Map requests judged before any SQL: ``dealsInView`` views (``commerce.discovery.viewport``)
and vector tiles with their query-string filter (``commerce.discovery.tiles``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from commerce.discovery.tiles import (
    MAX_PARAMETER_LENGTH,
    TileRequest,
    filter_from_query,
    tile_box,
    tile_coordinates,
    validate_tile,
)
from commerce.discovery.viewport import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MERCATOR_MAX_LAT,
    ViewRequest,
    mercator_y,
    validate_view,
)
from commerce.errors import UserInputError
from domain.filters import DealFilterValues

NOW = datetime(2026, 6, 5, 12, 0, tzinfo=UTC)
HELSINKI = ViewRequest(west=24.90, south=60.15, east=24.98, north=60.19, zoom=15, now=NOW)


def view_refused_on(**changes: Any) -> str:
    with pytest.raises(UserInputError) as caught:
        validate_view(replace(HELSINKI, **changes))
    return caught.value.argument


# --- dealsInView ---------------------------------------------------------------------


def test_a_city_view_is_one_box_with_the_default_limit() -> None:
    view = validate_view(HELSINKI)
    assert len(view.boxes) == 1
    box = view.boxes[0]
    assert (box.west, box.south, box.east, box.north) == (24.90, 60.15, 24.98, 60.19)
    assert view.limit == DEFAULT_LIMIT and view.zoom == 15 and view.now == NOW


def test_a_view_across_the_antimeridian_is_split_in_two() -> None:
    fiji = ViewRequest(west=179.5, south=-18.5, east=-179.5, north=-17.5, zoom=7, now=NOW)
    east_part, west_part = validate_view(fiji).boxes
    assert (east_part.west, east_part.east) == (179.5, 180.0)
    assert (west_part.west, west_part.east) == (-180.0, -179.5)
    assert east_part.south == west_part.south == -18.5


@pytest.mark.parametrize(
    ("changes", "argument"),
    [
        ({"west": -180.5}, "bbox.west"),
        ({"east": 181.0}, "bbox.east"),
        ({"east": float("nan")}, "bbox.east"),
        ({"south": -91.0}, "bbox.south"),
        ({"north": float("inf")}, "bbox.north"),
        ({"south": 60.2, "north": 60.1}, "bbox.south"),
        ({"zoom": -1}, "zoom"),
        ({"zoom": 23}, "zoom"),
        ({"limit": 0}, "limit"),
        ({"limit": MAX_LIMIT + 1}, "limit"),
    ],
)
def test_impossible_views_are_refused_on_their_argument(
    changes: dict[str, object], argument: str
) -> None:
    assert view_refused_on(**changes) == argument


def test_a_view_may_span_at_most_sixteen_tiles_of_its_zoom() -> None:
    # zoom 4: 16 tiles make the whole world's width; zoom 5 allows half of it
    world = replace(HELSINKI, west=-180.0, south=-10.0, east=180.0, north=10.0)
    assert len(validate_view(replace(world, zoom=4)).boxes) == 1
    with pytest.raises(UserInputError) as caught:
        validate_view(replace(world, zoom=5))
    assert caught.value.argument == "bbox"
    # and the height, in Mercator units: a tall narrow view at a high zoom
    assert view_refused_on(south=50.0, north=70.0, zoom=12) == "bbox"


def test_the_filter_of_a_view_follows_the_shared_rules() -> None:
    assert view_refused_on(filter=DealFilterValues(min_rating=6.0)) == "filter.minRating"
    rules = validate_view(replace(HELSINKI, filter=DealFilterValues(open_now=True))).rules
    assert rules.open_at == NOW


def test_mercator_y_runs_from_the_top_and_clamps_at_the_poles() -> None:
    assert mercator_y(0.0) == pytest.approx(0.5)
    assert mercator_y(MERCATOR_MAX_LAT) == pytest.approx(0.0, abs=1e-9)
    assert mercator_y(-MERCATOR_MAX_LAT) == pytest.approx(1.0, abs=1e-9)
    assert mercator_y(90.0) == mercator_y(MERCATOR_MAX_LAT)
    assert mercator_y(60.0) < mercator_y(30.0)


# --- vector tiles --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("z", "x", "y", "expected"),
    [
        ("0", "0", "0", (0, 0, 0)),
        ("14", "9326", "4741", (14, 9326, 4741)),
        ("22", "0", "1", (22, 0, 1)),
    ],
)
def test_tile_coordinates_parse(z: str, x: str, y: str, expected: tuple[int, int, int]) -> None:
    assert tile_coordinates(z, x, y) == expected


@pytest.mark.parametrize(
    ("z", "x", "y", "argument"),
    [
        ("-1", "0", "0", "z"),
        ("1.5", "0", "0", "z"),
        ("23", "0", "0", "z"),
        ("3", "", "0", "x"),
        ("3", "8", "0", "x"),
        ("3", "0", "8", "y"),
        ("3", "0", "123456789", "y"),
        ("3", "0x1", "0", "x"),
    ],
)
def test_tiles_that_do_not_exist_are_refused(z: str, x: str, y: str, argument: str) -> None:
    with pytest.raises(UserInputError) as caught:
        tile_coordinates(z, x, y)
    assert caught.value.argument == argument


def test_the_world_tile_spans_the_mercator_world() -> None:
    box = tile_box(0, 0, 0)
    assert (box.west, box.east) == (-180.0, 180.0)
    assert box.north == pytest.approx(MERCATOR_MAX_LAT)
    assert box.south == pytest.approx(-MERCATOR_MAX_LAT)


def test_neighbouring_tiles_share_their_edges() -> None:
    top_left, top_right, below = tile_box(1, 0, 0), tile_box(1, 1, 0), tile_box(1, 0, 1)
    assert top_left.east == top_right.west == 0.0
    assert top_left.south == pytest.approx(0.0, abs=1e-9) and below.north == top_left.south
    assert top_left.north > top_left.south


def test_the_query_string_filter_reads_every_deal_filter_field() -> None:
    values = filter_from_query(
        {
            "categories": ["food, spa", "bars"],
            "priceMin": ["5"],
            "priceMax": ["20.50"],
            "minRating": ["4.5"],
            "openAt": ["2026-06-05T22:00+03:00"],
        }
    )
    assert values.categories == ("food", "spa", "bars")
    assert (values.price_min, values.price_max, values.min_rating) == ("5", "20.50", 4.5)
    assert values.open_at is not None and values.open_at.utcoffset() == timedelta(hours=3)
    assert filter_from_query({"openNow": ["false"]}).open_now is False
    assert filter_from_query({}) == DealFilterValues()


def test_a_plus_of_the_offset_that_arrived_as_a_space_is_read_as_plus() -> None:
    values = filter_from_query({"openAt": ["2026-06-05T22:00 03:00"]})
    assert values.open_at is not None and values.open_at.utcoffset() == timedelta(hours=3)


@pytest.mark.parametrize(
    ("query", "argument"),
    [
        ({"colour": ["red"]}, "colour"),
        ({"priceMin": ["1", "2"]}, "priceMin"),
        ({"priceMax": ["9" * (MAX_PARAMETER_LENGTH + 1)]}, "priceMax"),
        ({"minRating": ["high"]}, "filter.minRating"),
        ({"openNow": ["yes"]}, "filter.openNow"),
        ({"openAt": ["tonight"]}, "filter.openAt"),
    ],
)
def test_a_query_string_that_is_not_a_filter_is_refused(
    query: dict[str, list[str]], argument: str
) -> None:
    with pytest.raises(UserInputError) as caught:
        filter_from_query(query)
    assert caught.value.argument == argument


def test_a_tile_request_is_judged_whole_before_any_sql() -> None:
    valid = validate_tile(
        TileRequest(z="14", x="9326", y="4741", query={"categories": ["spa,food,spa"]}, now=NOW)
    )
    assert valid.tile == (14, 9326, 4741) and valid.box == tile_box(14, 9326, 4741)
    assert valid.rules.categories == ("food", "spa") and valid.now == NOW
    with pytest.raises(UserInputError) as caught:
        validate_tile(TileRequest(z="14", x="0", y="0", query={"priceMin": ["-1"]}, now=NOW))
    assert caught.value.argument == "filter.priceMin"
