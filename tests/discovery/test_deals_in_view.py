"""dealsInView over HTTP against the seeded PostGIS, checked by brute force over every
(deal, store) pair: membership, one count per deal, grid clusters, GeoJSON, filters, errors."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from commerce.hours import is_open
from tests.conftest import GraphQL
from tests.discovery.map_helpers import (
    HELSINKI_BOX,
    build_layer,
    expected_clusters,
    in_box,
    representatives,
)
from tests.helpers import SHANGHAI, deal_store_points, decode_id

VIEW = """query View($bbox: BoundingBoxInput!, $zoom: Int!, $filter: DealFilter, $limit: Int) {
  dealsInView(bbox: $bbox, zoom: $zoom, filter: $filter, limit: $limit) {
    totalCount clustered truncated
    clusters { id count center { lat lng } expansionZoom }
    deals { id title price { amount } }
    geojson
  }
}"""


@pytest.fixture(scope="module")
def points(sql: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return deal_store_points(sql)


def around(centre: dict[str, float], half_lng: float, half_lat: float) -> dict[str, float]:
    return {
        "west": centre["lng"] - half_lng,
        "east": centre["lng"] + half_lng,
        "south": centre["lat"] - half_lat,
        "north": centre["lat"] + half_lat,
    }


async def view(gql: GraphQL, **variables: Any) -> dict[str, Any]:
    data = await gql.data(VIEW, variables)
    result: dict[str, Any] = data["dealsInView"]
    return result


@pytest.mark.parametrize(
    ("box", "zoom"),
    [
        (HELSINKI_BOX, 11),
        (HELSINKI_BOX, 13),
        (around(SHANGHAI, 0.06, 0.05), 11),
        (around(SHANGHAI, 0.02, 0.02), 13),
    ],
)
async def test_clusters_match_a_brute_force_grid(
    gql: GraphQL, points: list[dict[str, Any]], box: dict[str, float], zoom: int
) -> None:
    members = representatives(points, box)
    result = await view(gql, bbox=box, zoom=zoom)
    assert result["clustered"] is True and result["deals"] == []
    got = {c["id"]: (c["count"], c["expansionZoom"]) for c in result["clusters"]}
    assert got == expected_clusters(list(members.values()), zoom)
    assert result["totalCount"] == sum(c["count"] for c in result["clusters"]) == len(members)
    assert len(members) > 50 and len(got) > 1  # the check means something only with data
    for cluster in result["clusters"]:
        assert in_box(cluster["center"], box)
        assert zoom < cluster["expansionZoom"] <= 14


async def test_cluster_centre_is_the_mean_of_its_deals(
    gql: GraphQL, points: list[dict[str, Any]]
) -> None:
    from tests.discovery.map_helpers import cell

    zoom = 12
    members = list(representatives(points, HELSINKI_BOX).values())
    result = await view(gql, bbox=HELSINKI_BOX, zoom=zoom)
    for cluster in result["clusters"]:
        group = [p for p in members if f"{zoom}/%d/%d" % cell(p, zoom) == cluster["id"]]
        assert cluster["center"]["lng"] == pytest.approx(sum(p.lng for p in group) / len(group))
        assert cluster["center"]["lat"] == pytest.approx(sum(p.lat for p in group) / len(group))


@pytest.mark.parametrize(
    ("box", "zoom"),
    [
        ({"west": 24.940, "south": 60.165, "east": 24.948, "north": 60.170}, 15),
        (around(SHANGHAI, 0.01, 0.008), 14),
    ],
)
async def test_deals_match_a_brute_force_and_sit_in_the_box(
    gql: GraphQL, points: list[dict[str, Any]], box: dict[str, float], zoom: int
) -> None:
    expected = representatives(points, box)
    result = await view(gql, bbox=box, zoom=zoom, limit=1000)
    assert result["clustered"] is False and result["clusters"] == []
    ids = [decode_id(d["id"]) for d in result["deals"]]
    assert ids == sorted(expected)  # each deal once, by id
    assert result["totalCount"] == len(expected) > 10
    assert result["truncated"] is False
    features = result["geojson"]["features"]
    assert [decode_id(f["id"]) for f in features] == ids
    for feature in features:
        lng, lat = feature["geometry"]["coordinates"]
        assert in_box({"lng": lng, "lat": lat}, box)
        chosen = expected[decode_id(feature["id"])]  # at its lowest-id store in the box
        assert (lng, lat) == pytest.approx((chosen.lng, chosen.lat), abs=1e-9)
        assert decode_id(feature["properties"]["storeId"]) == chosen.store_id


def _check_feature_collection(collection: dict[str, Any]) -> None:
    """RFC 7946 shape: a FeatureCollection of Features with Point geometries in [lng, lat]."""
    assert collection["type"] == "FeatureCollection"
    assert "crs" not in collection  # RFC 7946 removed crs: WGS-84 always
    assert isinstance(collection["features"], list)
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        assert set(feature) <= {"type", "id", "geometry", "properties", "bbox"}
        assert isinstance(feature["id"], str | int)
        assert isinstance(feature["properties"], dict)
        geometry = feature["geometry"]
        assert geometry["type"] == "Point"
        lng, lat = geometry["coordinates"]
        assert all(isinstance(v, float | int) and math.isfinite(v) for v in (lng, lat))
        assert -180 <= lng <= 180 and -90 <= lat <= 90


async def test_geojson_is_an_rfc_7946_feature_collection_in_lng_lat_order(gql: GraphQL) -> None:
    box = {"west": 24.940, "south": 60.165, "east": 24.948, "north": 60.170}
    deals = await view(gql, bbox=box, zoom=16)
    clusters = await view(gql, bbox=HELSINKI_BOX, zoom=12)
    for result in (deals, clusters):
        _check_feature_collection(result["geojson"])
        assert len(result["geojson"]["features"]) > 0
    lng, lat = deals["geojson"]["features"][0]["geometry"]["coordinates"]
    assert 24 < lng < 25 and 60 < lat < 61  # Helsinki: longitude first
    by_id = {d["id"]: d for d in deals["deals"]}
    for feature in deals["geojson"]["features"]:
        properties = feature["properties"]
        assert properties["title"] == by_id[feature["id"]]["title"]
        assert properties["price"] == by_id[feature["id"]]["price"]["amount"]
    for feature, cluster in zip(clusters["geojson"]["features"], clusters["clusters"], strict=True):
        assert feature["properties"]["cluster"] is True
        assert feature["properties"]["point_count"] == cluster["count"]
        assert feature["properties"]["expansion_zoom"] == cluster["expansionZoom"]
        assert feature["geometry"]["coordinates"] == [
            cluster["center"]["lng"],
            cluster["center"]["lat"],
        ]


async def test_limit_caps_the_deals_and_says_so(gql: GraphQL) -> None:
    result = await view(gql, bbox=HELSINKI_BOX, zoom=14, limit=5)
    assert len(result["deals"]) == 5 == len(result["geojson"]["features"])
    assert result["truncated"] is True
    assert result["totalCount"] > 5
    everything = await view(gql, bbox=HELSINKI_BOX, zoom=14, limit=1000)
    assert everything["totalCount"] == result["totalCount"]
    assert [d["id"] for d in everything["deals"][:5]] == [d["id"] for d in result["deals"]]


async def test_filters_match_a_brute_force(gql: GraphQL, points: list[dict[str, Any]]) -> None:
    chosen = [p for p in points if p["category"] in ("cafe", "restaurant")]
    chosen = [p for p in chosen if Decimal("10") <= p["price"] <= Decimal("40")]
    chosen = [p for p in chosen if p["rating"] is not None and p["rating"] >= Decimal("3")]
    expected = representatives(chosen, HELSINKI_BOX)
    filter_ = {
        "categories": ["cafe", "restaurant"],
        "priceMin": "10",
        "priceMax": "40.00",
        "minRating": 3,
    }
    deals = await view(gql, bbox=HELSINKI_BOX, zoom=14, filter=filter_, limit=1000)
    assert sorted(decode_id(d["id"]) for d in deals["deals"]) == sorted(expected)
    assert deals["totalCount"] == len(expected) > 5
    clusters = await view(gql, bbox=HELSINKI_BOX, zoom=12, filter=filter_)
    assert clusters["totalCount"] == len(expected)
    assert {c["id"]: (c["count"], c["expansionZoom"]) for c in clusters["clusters"]} == (
        expected_clusters(list(expected.values()), 12)
    )


async def test_opening_hours_filter_uses_each_stores_own_hours(
    gql: GraphQL, sql: psycopg.Connection[Any], points: list[dict[str, Any]]
) -> None:
    at = datetime.fromisoformat("2026-12-02T09:30:00+02:00")  # a Wednesday morning
    hours = {
        row[0]: is_open(row[1], row[2], row[3], at)
        for row in sql.execute("SELECT id, opening_hours, timezone, country_code FROM stores")
    }
    open_points = [p for p in points if hours[p["store_id"]]]
    expected = representatives(open_points, HELSINKI_BOX)
    result = await view(
        gql, bbox=HELSINKI_BOX, zoom=15, filter={"openAt": at.isoformat()}, limit=1000
    )
    assert sorted(decode_id(d["id"]) for d in result["deals"]) == sorted(expected)
    everything = representatives(points, HELSINKI_BOX)
    assert 0 < len(expected) < len(everything)  # some stores are open, some are not
    clusters = await view(gql, bbox=HELSINKI_BOX, zoom=12, filter={"openAt": at.isoformat()})
    assert clusters["totalCount"] == len(expected)


async def test_a_deal_with_several_stores_in_view_counts_once(
    gql: GraphQL, sql: psycopg.Connection[Any], points: list[dict[str, Any]]
) -> None:
    row = sql.execute(
        """SELECT ds.deal_id, min(ST_X(s.location::geometry)), min(ST_Y(s.location::geometry)),
                  max(ST_X(s.location::geometry)), max(ST_Y(s.location::geometry))
           FROM deal_stores ds JOIN stores s ON s.id = ds.store_id
           JOIN deals d ON d.id = ds.deal_id
           WHERE d.valid_from <= now() AND d.valid_until > now()
             AND (d.remaining_quantity IS NULL OR d.remaining_quantity > 0)
           GROUP BY ds.deal_id HAVING count(*) > 1
           ORDER BY max(ST_X(s.location::geometry)) - min(ST_X(s.location::geometry)) LIMIT 1"""
    ).fetchone()
    assert row is not None, "the seed should have a chain deal valid at several stores"
    deal_id, west, south, east, north = row
    box = {
        "west": west - 0.001,
        "south": south - 0.001,
        "east": east + 0.001,
        "north": north + 0.001,
    }
    stores = [p for p in points if p["deal_id"] == deal_id and in_box(p, box)]
    assert len(stores) > 1
    result = await view(gql, bbox=box, zoom=14, limit=1000)
    ids = [decode_id(d["id"]) for d in result["deals"]]
    assert ids.count(deal_id) == 1
    assert result["totalCount"] == len(representatives(points, box)) == len(ids)


@pytest.fixture
def dateline_deals(sql: psycopg.Connection[Any]) -> Iterator[list[int]]:
    """Two deals on either side of the antimeridian (Fiji), removed afterwards."""
    merchant = sql.execute(
        "INSERT INTO merchants (external_key, name, category_slug, source)"
        " VALUES ('test:map:dateline', 'Dateline Diner', 'cafe', 'test') RETURNING id"
    ).fetchone()
    assert merchant is not None
    deal_ids = []
    try:
        for index, lng in enumerate((179.995, -179.995)):
            store = sql.execute(
                "INSERT INTO stores (merchant_id, external_key, name, location, timezone,"
                " country_code) VALUES (%s, %s, 'Dateline Diner', %s, 'Pacific/Fiji', 'FJ')"
                " RETURNING id",
                [merchant[0], f"test:map:dateline:{index}", f"SRID=4326;POINT({lng} -16.8)"],
            ).fetchone()
            deal = sql.execute(
                "INSERT INTO deals (merchant_id, external_key, title, price, currency,"
                " valid_from, valid_until) VALUES (%s, %s, 'Kava for two', 7, 'FJD',"
                " now() - interval '1 day', now() + interval '1 day') RETURNING id",
                [merchant[0], f"test:map:dateline:deal:{index}"],
            ).fetchone()
            assert store is not None and deal is not None
            sql.execute("INSERT INTO deal_stores VALUES (%s, %s)", [deal[0], store[0]])
            deal_ids.append(deal[0])
        yield deal_ids
    finally:
        sql.execute("DELETE FROM merchants WHERE id = %s", [merchant[0]])


async def test_a_box_across_the_antimeridian_holds_both_sides(
    gql: GraphQL, dateline_deals: list[int]
) -> None:
    box = {"west": 179.99, "south": -16.81, "east": -179.99, "north": -16.79}
    deals = await view(gql, bbox=box, zoom=16)
    assert sorted(decode_id(d["id"]) for d in deals["deals"]) == sorted(dateline_deals)
    for feature in deals["geojson"]["features"]:
        lng, lat = feature["geometry"]["coordinates"]
        assert in_box({"lng": lng, "lat": lat}, box)
    clusters = await view(gql, bbox={**box, "west": 179.9, "east": -179.9}, zoom=8)
    assert clusters["totalCount"] == 2
    assert sorted(c["count"] for c in clusters["clusters"]) == [1, 1]  # one per side
    just_west = await view(gql, bbox={**box, "east": 180.0}, zoom=16)
    assert [decode_id(d["id"]) for d in just_west["deals"]] == [dateline_deals[0]]


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"bbox": {**HELSINKI_BOX, "north": 91}, "zoom": 12}, "bbox.north"),
        ({"bbox": {**HELSINKI_BOX, "south": -90.5}, "zoom": 12}, "bbox.south"),
        ({"bbox": {**HELSINKI_BOX, "west": -181}, "zoom": 12}, "bbox.west"),
        ({"bbox": {**HELSINKI_BOX, "east": 180.5}, "zoom": 12}, "bbox.east"),
        ({"bbox": {**HELSINKI_BOX, "south": 60.19, "north": 60.18}, "zoom": 12}, "bbox.south"),
        ({"bbox": HELSINKI_BOX, "zoom": 23}, "zoom"),
        ({"bbox": HELSINKI_BOX, "zoom": -1}, "zoom"),
        ({"bbox": {"west": 0, "south": 0, "east": 30, "north": 10}, "zoom": 12}, "bbox"),
        ({"bbox": {"west": 170, "south": 0, "east": -170, "north": 1}, "zoom": 12}, "bbox"),
        ({"bbox": HELSINKI_BOX, "zoom": 15, "limit": 0}, "limit"),
        ({"bbox": HELSINKI_BOX, "zoom": 15, "limit": 1001}, "limit"),
        ({"bbox": HELSINKI_BOX, "zoom": 12, "filter": {"priceMin": "ten"}}, "filter.priceMin"),
        ({"bbox": HELSINKI_BOX, "zoom": 12, "filter": {"minRating": 7}}, "filter.minRating"),
        (
            {"bbox": HELSINKI_BOX, "zoom": 12, "filter": {"categories": ["DROP TABLE"]}},
            "filter.categories",
        ),
        (
            {"bbox": HELSINKI_BOX, "zoom": 12, "filter": {"openAt": "2026-06-01T12:00:00"}},
            "filter.openAt",
        ),
    ],
)
async def test_bad_input_is_bad_user_input(
    gql: GraphQL, variables: dict[str, Any], argument: str
) -> None:
    error = await gql.error(VIEW, variables)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == argument
    assert error["message"]


async def test_the_whole_world_at_zoom_zero_is_allowed(gql: GraphQL) -> None:
    world = {"west": -180, "south": -85, "east": 180, "north": 85}
    result = await view(gql, bbox=world, zoom=0)
    assert result["totalCount"] == sum(c["count"] for c in result["clusters"]) > 1000


async def test_a_view_with_too_many_stores_to_cluster_is_refused(
    gql: GraphQL, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    """The limit is 30 000 stores; the demo data has far fewer, so the test lowers it. It
    bounds the live statement (a filtered view): the map layer answers any view."""
    import commerce.discovery.viewport

    await build_layer(database_url)
    monkeypatch.setattr(commerce.discovery.viewport, "MAX_CLUSTER_STORES", 100)
    filtered = {"bbox": HELSINKI_BOX, "zoom": 12, "filter": {"priceMin": "0"}}
    error = await gql.error(VIEW, filtered)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "bbox"}
    assert "zoom in" in error["message"]
    assert (await view(gql, bbox=HELSINKI_BOX, zoom=12))["totalCount"] > 100  # the layer
    small = {"west": 24.940, "south": 60.165, "east": 24.942, "north": 60.166}
    assert (await view(gql, bbox=small, zoom=13))["totalCount"] > 0  # few stores: fine
    deals = await view(gql, bbox=HELSINKI_BOX, zoom=14)  # deal zooms are bounded by size
    assert deals["totalCount"] > 100
