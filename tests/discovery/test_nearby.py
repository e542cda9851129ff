"""nearbyDeals / nearbyMerchants over HTTP against the seeded PostGIS, checked by brute force."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.conftest import GraphQL
from tests.helpers import (
    HELSINKI,
    SHANGHAI,
    deal_restored,
    deal_store_points,
    decode_id,
    geodesic_m,
    nearest_within,
    walk,
)

DEAL_SELECTION = """
  store { id location { lat lng } }
  node { id price { amount } discountPercent merchant { rating category { slug } } }
"""


@pytest.fixture(scope="module")
def points(sql: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    return deal_store_points(sql)


@pytest.mark.parametrize(
    ("centre", "radius"), [(HELSINKI, 800.0), (HELSINKI, 2500.0), (SHANGHAI, 3000.0)]
)
async def test_membership_and_distances_match_a_geodesic_brute_force(
    gql: GraphQL, points: list[dict[str, Any]], centre: dict[str, float], radius: float
) -> None:
    expected = nearest_within(points, "deal_id", centre, radius)
    edges, total = await walk(
        gql, "nearbyDeals", DEAL_SELECTION, {"near": centre, "radius": radius}, page_size=100
    )
    got = {decode_id(e["node"]["id"]): e for e in edges}
    borderline = {d for d, m in expected.items() if abs(m - radius) < 0.5}
    assert set(got) - borderline == set(expected) - borderline
    assert total == len(edges) == len(got)
    assert len(expected) > 20  # the check means something only with real results
    for deal_id, edge in got.items():
        store = edge["store"]["location"]
        reference = geodesic_m(centre["lat"], centre["lng"], store["lat"], store["lng"])
        assert edge["distanceMeters"] == pytest.approx(reference, rel=1e-3, abs=0.05)
        if deal_id in expected:  # the edge's store is the nearest valid one
            assert edge["distanceMeters"] == pytest.approx(expected[deal_id], rel=1e-3, abs=0.05)


@pytest.mark.parametrize("sort", ["DISTANCE", "RATING", "PRICE_ASC", "PRICE_DESC", "DISCOUNT"])
async def test_cursor_walk_is_complete_without_duplicates_and_sorted(
    gql: GraphQL, sort: str
) -> None:
    variables = {"near": HELSINKI, "radius": 700.0, "sort": sort}
    small, total = await walk(gql, "nearbyDeals", DEAL_SELECTION, variables, page_size=7)
    whole, _ = await walk(gql, "nearbyDeals", DEAL_SELECTION, variables, page_size=100)
    ids = [e["node"]["id"] for e in small]
    assert len(ids) == len(set(ids)) == total
    assert ids == [e["node"]["id"] for e in whole]  # page size never changes the order
    keys = [_sort_key(sort, e) for e in small]
    assert keys == sorted(keys)


def _sort_key(sort: str, edge: dict[str, Any]) -> tuple[Any, ...]:
    node = edge["node"]
    lead = {
        "DISTANCE": (),
        "RATING": (-(node["merchant"]["rating"] or 0),),
        "PRICE_ASC": (Decimal(node["price"]["amount"]),),
        "PRICE_DESC": (-Decimal(node["price"]["amount"]),),
        "DISCOUNT": (-node["discountPercent"],),
    }[sort]
    return (*lead, edge["distanceMeters"])


async def test_filters_match_brute_force(gql: GraphQL, points: list[dict[str, Any]]) -> None:
    radius = 2500.0
    chosen = [p for p in points if p["category"] in ("cafe", "bar")]
    chosen = [p for p in chosen if Decimal("8") <= p["price"] <= Decimal("30")]
    chosen = [p for p in chosen if p["rating"] is not None and p["rating"] >= Decimal("3.5")]
    expected = nearest_within(chosen, "deal_id", HELSINKI, radius)
    variables = {
        "near": HELSINKI,
        "radius": radius,
        "filter": {
            "categories": ["cafe", "bar"],
            "priceMin": "8",
            "priceMax": "30.00",
            "minRating": 3.5,
        },
    }
    edges, total = await walk(gql, "nearbyDeals", DEAL_SELECTION, variables, page_size=50)
    assert {decode_id(e["node"]["id"]) for e in edges} == set(expected)
    assert total == len(expected) > 5
    for edge in edges:
        node = edge["node"]
        assert node["merchant"]["category"]["slug"] in ("cafe", "bar")
        assert Decimal("8") <= Decimal(node["price"]["amount"]) <= Decimal("30")
        assert node["merchant"]["rating"] >= 3.5


async def test_nearby_merchants_lists_a_chain_once_with_its_nearest_store(
    gql: GraphQL, sql: psycopg.Connection[Any]
) -> None:
    stores = sql.execute(
        "SELECT merchant_id, ST_Y(location::geometry), ST_X(location::geometry) FROM stores"
    ).fetchall()
    points = [{"merchant_id": m, "lat": lat, "lng": lng} for m, lat, lng in stores]
    expected = nearest_within(points, "merchant_id", SHANGHAI, 4000.0)
    chains = {m for m, _, _ in stores if sum(1 for s in stores if s[0] == m) > 1}
    assert chains & set(expected), "the seed should put a chain near the Shanghai centre"
    selection = "nearestStore { id merchant { id } } node { id name }"
    edges, total = await walk(
        gql, "nearbyMerchants", selection, {"near": SHANGHAI, "radius": 4000.0}, page_size=40
    )
    ids = [decode_id(e["node"]["id"]) for e in edges]
    assert len(ids) == len(set(ids)) == total
    assert set(ids) == set(expected)
    for edge in edges:
        merchant_id = decode_id(edge["node"]["id"])
        assert edge["nearestStore"]["merchant"]["id"] == edge["node"]["id"]
        assert edge["distanceMeters"] == pytest.approx(expected[merchant_id], rel=1e-3, abs=0.05)


async def test_nearby_merchants_rating_sort_and_min_rating(gql: GraphQL) -> None:
    variables = {"near": HELSINKI, "radius": 2000.0, "sort": "RATING", "filter": {"minRating": 4}}
    edges, total = await walk(gql, "nearbyMerchants", "node { rating }", variables, page_size=25)
    ratings = [e["node"]["rating"] for e in edges]
    assert total == len(ratings) > 10
    assert all(r >= 4 for r in ratings)
    assert ratings == sorted(ratings, reverse=True)


async def test_sold_out_and_expired_deals_are_not_offered(
    gql: GraphQL, sql: psycopg.Connection[Any]
) -> None:
    deal_id = 1
    location = sql.execute(
        "SELECT ST_Y(s.location::geometry), ST_X(s.location::geometry) FROM deal_stores ds"
        " JOIN stores s ON s.id = ds.store_id WHERE ds.deal_id = %s LIMIT 1",
        [deal_id],
    ).fetchone()
    assert location is not None
    near = {"lat": location[0], "lng": location[1]}
    query = "query($near: GeoPointInput!) { nearbyDeals(near: $near, radiusMeters: 5, first: 100)"
    query += " { edges { node { id } } } }"

    async def offered() -> bool:
        data = await gql.data(query, {"near": near})
        return any(decode_id(e["node"]["id"]) == deal_id for e in data["nearbyDeals"]["edges"])

    with deal_restored(sql, deal_id):
        assert await offered()
        sql.execute(
            "UPDATE deals SET total_quantity = 5, remaining_quantity = 0 WHERE id = %s", [deal_id]
        )
        assert not await offered()
        sql.execute(
            "UPDATE deals SET remaining_quantity = NULL, total_quantity = NULL,"
            " valid_from = now() - interval '2 days', valid_until = now() - interval '1 day'"
            " WHERE id = %s",
            [deal_id],
        )
        assert not await offered()


async def test_nearby_works_across_the_antimeridian(
    gql: GraphQL, sql: psycopg.Connection[Any]
) -> None:
    """A store at 179.999 E is 200-odd metres from a caller at 179.999 W (Fiji/Taveuni)."""
    merchant = sql.execute(
        "INSERT INTO merchants (external_key, name, category_slug, source)"
        " VALUES ('test:antimeridian', 'Dateline Cafe', 'cafe', 'test') RETURNING id"
    ).fetchone()
    assert merchant is not None
    try:
        store = sql.execute(
            "INSERT INTO stores (merchant_id, external_key, name, location, timezone,"
            " country_code) VALUES (%s, 'test:antimeridian:store', 'Dateline Cafe',"
            " 'SRID=4326;POINT(179.999 -16.8)', 'Pacific/Fiji', 'FJ') RETURNING id",
            [merchant[0]],
        ).fetchone()
        deal = sql.execute(
            "INSERT INTO deals (merchant_id, external_key, title, price, currency, valid_from,"
            " valid_until) VALUES (%s, 'test:antimeridian:deal', 'Two coffees', 7, 'FJD',"
            " now() - interval '1 day', now() + interval '1 day') RETURNING id",
            [merchant[0]],
        ).fetchone()
        assert store is not None and deal is not None
        sql.execute("INSERT INTO deal_stores VALUES (%s, %s)", [deal[0], store[0]])
        data = await gql.data(
            """{ nearbyDeals(near: {lat: -16.8, lng: -179.999}, radiusMeters: 500) {
                 totalCount edges { distanceMeters node { title } } } }"""
        )
        edges = data["nearbyDeals"]["edges"]
        assert [e["node"]["title"] for e in edges] == ["Two coffees"]
        expected = geodesic_m(-16.8, -179.999, -16.8, 179.999)
        assert edges[0]["distanceMeters"] == pytest.approx(expected, rel=1e-3)
        assert expected < 500
    finally:
        sql.execute("DELETE FROM merchants WHERE id = %s", [merchant[0]])
