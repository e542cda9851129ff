"""GET /tiles/deals/{z}/{x}/{y}.mvt: decodable tiles with the brute-force features, the
same counts as dealsInView, filters as query parameters, caching headers and 400s."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import mapbox_vector_tile
import psycopg
import pytest

from commerce.hours import is_open
from tests.conftest import GraphQL
from tests.discovery.map_helpers import (
    build_layer,
    expected_clusters,
    representatives,
    tile_box,
    tile_of,
)
from tests.helpers import HELSINKI, SHANGHAI, deal_store_points, decode_id

EXTENT = 4096


@pytest.fixture(scope="module")
def points(sql: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return deal_store_points(sql)


def tile_url(zoom: int, centre: dict[str, float]) -> tuple[str, tuple[int, int, int]]:
    x, y = tile_of(centre["lat"], centre["lng"], zoom)
    return f"/tiles/deals/{zoom}/{x}/{y}.mvt", (zoom, x, y)


async def features(
    client: httpx.AsyncClient, url: str, params: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    response = await client.get(url, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layers = mapbox_vector_tile.decode(response.content, default_options={"y_coord_down": True})
    assert set(layers) <= {"deals"}
    if not layers:
        return []
    assert layers["deals"]["extent"] == EXTENT
    found: list[dict[str, Any]] = layers["deals"]["features"]
    return found


def tile_pixel(lng: float, lat: float, tile: tuple[int, int, int]) -> tuple[float, float]:
    zoom, x, y = tile
    side = 2**zoom
    phi = math.radians(lat)
    world_y = (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2
    return ((lng + 180) / 360 * side - x) * EXTENT, (world_y * side - y) * EXTENT


@pytest.mark.parametrize(("zoom", "centre"), [(15, HELSINKI), (16, HELSINKI), (14, SHANGHAI)])
async def test_deal_tiles_hold_the_brute_force_deals(
    client: httpx.AsyncClient,
    sql: psycopg.Connection[Any],
    points: list[dict[str, Any]],
    zoom: int,
    centre: dict[str, float],
) -> None:
    url, tile = tile_url(zoom, centre)
    expected = representatives(points, tile_box(*tile))
    found = await features(client, url)
    by_deal = {decode_id(f["properties"]["id"]): f for f in found}
    assert sorted(by_deal) == sorted(expected) and len(found) == len(expected) > 5
    rows = sql.execute(
        "SELECT d.id, d.title, d.price::text, d.currency, d.discount_percent, m.category_slug"
        " FROM deals d JOIN merchants m ON m.id = d.merchant_id WHERE d.id = ANY(%s)",
        [list(expected)],
    ).fetchall()
    for deal_id, title, price, currency, discount, category in rows:
        feature = by_deal[deal_id]
        assert feature["id"] == deal_id
        assert feature["properties"] == {
            "id": feature["properties"]["id"],
            "title": title,
            "price": price,
            "currency": currency,
            "discount": discount,
            "category": category,
        }
        assert feature["geometry"]["type"] == "Point"
        px, py = feature["geometry"]["coordinates"]
        want = tile_pixel(expected[deal_id].lng, expected[deal_id].lat, tile)
        assert px == pytest.approx(want[0], abs=1) and py == pytest.approx(want[1], abs=1)


async def test_tile_ids_are_the_graphql_ids(client: httpx.AsyncClient, gql: GraphQL) -> None:
    url, _ = tile_url(15, HELSINKI)
    found = await features(client, url)
    some = found[0]["properties"]
    data = await gql.data("query($id: ID!) { deal(id: $id) { id title } }", {"id": some["id"]})
    assert data["deal"] == {"id": some["id"], "title": some["title"]}


@pytest.mark.parametrize(("zoom", "centre"), [(12, HELSINKI), (13, HELSINKI), (11, SHANGHAI)])
async def test_cluster_tiles_agree_with_the_brute_force_and_deals_in_view(
    client: httpx.AsyncClient,
    gql: GraphQL,
    points: list[dict[str, Any]],
    zoom: int,
    centre: dict[str, float],
) -> None:
    url, tile = tile_url(zoom, centre)
    box = tile_box(*tile)
    members = representatives(points, box)
    found = await features(client, url)
    got = {
        f["properties"]["cluster_id"]: (
            f["properties"]["point_count"],
            f["properties"]["expansion_zoom"],
        )
        for f in found
    }
    assert all(f["properties"]["cluster"] is True for f in found)
    assert got == expected_clusters(list(members.values()), zoom)
    assert sum(count for count, _ in got.values()) == len(members) > 20
    data = await gql.data(
        "query($bbox: BoundingBoxInput!, $zoom: Int!) { dealsInView(bbox: $bbox, zoom: $zoom) {"
        " totalCount clusters { id count } } }",
        {"bbox": box, "zoom": zoom},
    )
    assert data["dealsInView"]["totalCount"] == len(members)
    assert {c["id"]: c["count"] for c in data["dealsInView"]["clusters"]} == {
        key: count for key, (count, _) in got.items()
    }


async def test_filters_are_query_parameters(
    client: httpx.AsyncClient, points: list[dict[str, Any]]
) -> None:
    url, tile = tile_url(15, HELSINKI)
    chosen = [p for p in points if p["category"] in ("cafe", "restaurant")]
    chosen = [p for p in chosen if p["price"] <= Decimal("40")]
    chosen = [p for p in chosen if p["rating"] is not None and p["rating"] >= Decimal("2.5")]
    expected = representatives(chosen, tile_box(*tile))
    params = {"categories": "cafe,restaurant", "priceMax": "40", "minRating": "2.5"}
    found = await features(client, url, params)
    assert sorted(decode_id(f["properties"]["id"]) for f in found) == sorted(expected)
    assert 0 < len(expected) < len(representatives(points, tile_box(*tile)))
    repeated = await client.get(
        f"{url}?categories=cafe&categories=restaurant&priceMax=40&minRating=2.5"
    )
    assert repeated.content == (await client.get(url, params=params)).content


async def test_open_at_parameter_uses_store_hours(
    client: httpx.AsyncClient, sql: psycopg.Connection[Any], points: list[dict[str, Any]]
) -> None:
    at = datetime.fromisoformat("2026-12-02T09:30:00+02:00")
    hours = {
        row[0]: is_open(row[1], row[2], row[3], at)
        for row in sql.execute("SELECT id, opening_hours, timezone, country_code FROM stores")
    }
    url, tile = tile_url(15, HELSINKI)
    expected = representatives([p for p in points if hours[p["store_id"]]], tile_box(*tile))
    found = await features(client, url, {"openAt": at.isoformat()})
    assert sorted(decode_id(f["properties"]["id"]) for f in found) == sorted(expected)
    assert len(expected) > 0
    # an unencoded "+" of the offset arrives as a space: still understood
    unencoded = await client.get(f"{url}?openAt=2026-12-02T09:30:00+02:00")
    assert unencoded.status_code == 200
    assert unencoded.content == (await client.get(url, params={"openAt": at.isoformat()})).content


async def test_cache_headers_and_etag_revalidation(client: httpx.AsyncClient) -> None:
    url, _ = tile_url(15, HELSINKI)
    first = await client.get(url)
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert "max-age" in first.headers["cache-control"]
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    weak = await client.get(url, headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304
    stale = await client.get(url, headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200 and stale.content == first.content
    filtered = await client.get(url, params={"priceMax": "5"})
    assert filtered.headers["etag"] != etag


async def test_an_empty_tile_is_a_valid_empty_200(client: httpx.AsyncClient) -> None:
    response = await client.get("/tiles/deals/10/0/0.mvt")  # the Bering Sea corner
    assert response.status_code == 200
    assert response.content == b""
    assert mapbox_vector_tile.decode(response.content) == {}
    assert response.headers["etag"]


@pytest.mark.parametrize(
    ("path", "argument"),
    [
        ("/tiles/deals/abc/0/0.mvt", "z"),
        ("/tiles/deals/23/0/0.mvt", "z"),
        ("/tiles/deals/-1/0/0.mvt", "z"),
        ("/tiles/deals/2/4/0.mvt", "x"),
        ("/tiles/deals/2/0/4.mvt", "y"),
        ("/tiles/deals/2/1.5/0.mvt", "x"),
        ("/tiles/deals/2/0/0.mvt?priceMin=ten", "filter.priceMin"),
        ("/tiles/deals/2/0/0.mvt?priceMin=9&priceMax=3", "filter.priceMin"),
        ("/tiles/deals/2/0/0.mvt?minRating=lots", "filter.minRating"),
        ("/tiles/deals/2/0/0.mvt?openNow=maybe", "filter.openNow"),
        ("/tiles/deals/2/0/0.mvt?openAt=yesterday", "filter.openAt"),
        ("/tiles/deals/2/0/0.mvt?openAt=2026-06-01T12:00:00", "filter.openAt"),
        ("/tiles/deals/2/0/0.mvt?categories=DROP%20TABLE", "filter.categories"),
        ("/tiles/deals/2/0/0.mvt?color=red", "color"),
        ("/tiles/deals/2/0/0.mvt?priceMin=1&priceMin=2", "priceMin"),
    ],
)
async def test_bad_tile_requests_are_400_with_a_reason(
    client: httpx.AsyncClient, path: str, argument: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["argument"] == argument
    assert body["error"]


async def test_a_tile_with_too_many_stores_to_cluster_is_400(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    """Only a live (filtered) cluster tile is bounded; the map layer answers any tile."""
    import commerce.discovery.viewport

    await build_layer(database_url)
    monkeypatch.setattr(commerce.discovery.viewport, "MAX_CLUSTER_STORES", 100)
    url, _ = tile_url(12, HELSINKI)
    response = await client.get(url, params={"priceMin": "0"})
    assert response.status_code == 400
    assert response.json()["argument"] == "z"
    assert (await client.get(url)).status_code == 200
    deal_url, _ = tile_url(15, HELSINKI)
    assert (await client.get(deal_url)).status_code == 200


async def test_tiles_are_503_when_postgresql_is_down_and_the_page_still_loads(
    dead_database_server: str,
) -> None:
    async with httpx.AsyncClient(base_url=dead_database_server, timeout=30) as http:
        tile = await http.get("/tiles/deals/15/18653/9484.mvt")
        page = await http.get("/map")
        bad = await http.get("/tiles/deals/99/0/0.mvt")
    assert tile.status_code == 503
    assert tile.headers["retry-after"]
    assert "unavailable" in tile.json()["error"]
    assert page.status_code == 200
    assert bad.status_code == 400  # input is judged before the database is asked
