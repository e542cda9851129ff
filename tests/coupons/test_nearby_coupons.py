"""``nearbyCoupons`` on the real stack: equal to a geodesic brute force over every claimable
coupon (published, inside its validity, units left) at its nearest store in the radius, in
(distance, id) order across keyset pages; the argument rules of ``nearbyDeals``."""

from __future__ import annotations

import math
import random
from typing import Any

import psycopg
import pytest

from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.coupons.campaign_helpers import PAUSE, campaign_shops, created, published, staff_of
from tests.helpers import decode_id, geodesic_m
from tests.orders.fixtures import ShopFactory

__all__ = ["campaign_shops"]

CENTRE = {"lat": -41.5, "lng": -128.25}  # the South Pacific: no seeded place near
QUERY = """query($near: GeoPointInput!, $radius: Float, $first: Int, $after: String) {
  nearbyCoupons(near: $near, radiusMeters: $radius, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { cursor distanceMeters store { id } node { id status } }
  } }"""


def store_near(sql: psycopg.Connection[Any], merchant_id: int, rng: random.Random) -> int:
    """A store of the merchant at a random point up to 4 km from CENTRE."""
    bearing, distance = rng.uniform(0, 2 * math.pi), rng.uniform(0, 4000)
    lat = CENTRE["lat"] + distance * math.cos(bearing) / 111_320
    lng = CENTRE["lng"] + distance * math.sin(bearing) / (111_320 * math.cos(math.radians(lat)))
    row = sql.execute(
        "INSERT INTO stores (merchant_id, external_key, name, location, timezone, country_code)"
        " VALUES (%s, %s, 'Pacific store', ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography,"
        " 'UTC', 'PN') RETURNING id",
        [merchant_id, f"test:pacific:{rng.random()}", lng, lat],
    ).fetchone()
    assert row is not None
    return int(row[0])


def brute_force(sql: psycopg.Connection[Any], radius: float) -> list[tuple[float, int, int]]:
    """(distance, coupon id, store id) of each claimable coupon's nearest store in radius."""
    rows = sql.execute(
        "SELECT c.id, s.id, ST_Y(s.location::geometry), ST_X(s.location::geometry)"
        " FROM coupons c JOIN coupon_stores cs ON cs.coupon_id = c.id"
        " JOIN stores s ON s.id = cs.store_id"
        " WHERE c.status = 'PUBLISHED' AND c.valid_from <= now() AND c.valid_until > now()"
        " AND (c.remaining_quantity IS NULL OR c.remaining_quantity > 0)"
    ).fetchall()
    best: dict[int, tuple[float, int, int]] = {}
    for coupon_id, store_id, lat, lng in rows:
        distance = geodesic_m(CENTRE["lat"], CENTRE["lng"], lat, lng)
        if distance <= radius and (distance, store_id) < best.get(coupon_id, (math.inf, 0))[::2]:
            best[coupon_id] = (distance, coupon_id, store_id)
    return sorted(best.values())


async def walk(gql: GraphQL, radius: float, first: int) -> list[dict[str, Any]]:
    edges: list[dict[str, Any]] = []
    after = None
    for _ in range(100):
        variables = {"near": CENTRE, "radius": radius, "first": first, "after": after}
        page = (await gql.data(QUERY, variables))["nearbyCoupons"]
        edges.extend(page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return edges
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("the walk did not end")


async def test_nearby_coupons_equal_a_geodesic_brute_force(
    gql: GraphQL, campaign_shops: ShopFactory, sql: psycopg.Connection[Any]
) -> None:
    rng = random.Random(14)
    shop = campaign_shops()
    manager = staff_of(gql, shop, "manager")
    stores = [store_near(sql, shop.merchant_id, rng) for _ in range(12)]
    gids = [to_global_id("Store", store) for store in stores]
    for index in range(10):
        chosen = rng.sample(gids, rng.randint(1, 3))
        await published(manager, shop, storeIds=chosen, title=f"Coupon {index}")
    await created(manager, shop, storeIds=gids[:2])  # a draft: never listed
    await published(manager, shop, storeIds=gids[:2], totalQuantity=0)  # none left
    paused = await published(manager, shop, storeIds=gids[:2])
    await manager.data(PAUSE, {"input": {"couponId": paused["id"], "expectedVersion": 2}})

    for radius, first in ((2500.0, 3), (4100.0, 4), (800.0, 1)):
        edges = await walk(gql, radius, first)
        expected = brute_force(sql, radius)
        got = [
            (e["distanceMeters"], decode_id(e["node"]["id"]), decode_id(e["store"]["id"]))
            for e in edges
        ]
        assert [g[1:] for g in got] == [x[1:] for x in expected], radius
        for (distance, *_), (reference, *_) in zip(got, expected, strict=True):
            assert distance == pytest.approx(reference, abs=0.01)
        assert all(e["node"]["status"] == "PUBLISHED" for e in edges)
    assert len(brute_force(sql, 4100.0)) == 10


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"radius": 0}, "radiusMeters"),
        ({"radius": 50_001}, "radiusMeters"),
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"near": {"lat": 91, "lng": 0}}, "near.lat"),
        ({"near": {"lat": 0, "lng": -181}}, "near.lng"),
        ({"after": "bm90LWEtY3Vyc29y"}, "after"),
    ],
)
async def test_bad_arguments_are_named(
    gql: GraphQL, variables: dict[str, Any], argument: str
) -> None:
    body = await gql(QUERY, {"near": CENTRE, **variables})
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == argument
    assert body["data"] == {"nearbyCoupons": None}
