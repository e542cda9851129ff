"""searchDeals reads a page in one statement, and answers what PostgreSQL says one row at a time.

The page's deals, their merchants and each deal's nearest valid store (spheroid distance, ties
by store id) come from one statement (``geo/found.py``); these tests count the statements of a
request and compare every edge with plain per-deal SQL (the definition ``nearbyDeals`` uses).
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.conftest import GraphQL, RunningServer
from tests.helpers import HELSINKI, SHANGHAI, decode_id

PAGE = """
query Search($q: String!, $near: GeoPointInput, $radius: Float, $first: Int) {
  searchDeals(query: $q, near: $near, radiusMeters: $radius, first: $first) {
    totalCount
    edges {
      score distanceMeters
      store { id name location { lat lng } merchant { name } }
      node { id title remainingQuantity price { amount currency } merchant { id name rating } }
    }
  }
}"""

NEAREST = """
SELECT s.id, s.name,
       ST_Distance(s.location, ST_SetSRID(ST_MakePoint(%(lng)s, %(lat)s), 4326)::geography)
  FROM deal_stores ds JOIN stores s ON s.id = ds.store_id
 WHERE ds.deal_id = %(deal)s
 ORDER BY ST_Distance(s.location, ST_SetSRID(ST_MakePoint(%(lng)s, %(lat)s), 4326)::geography),
          s.id
 LIMIT 1"""

DEAL = """
SELECT d.title, d.remaining_quantity, d.price, d.currency, m.id, m.name, m.rating
  FROM deals d JOIN merchants m ON m.id = d.merchant_id WHERE d.id = %s"""

CASES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("coffee", {"near": HELSINKI, "radius": 3000.0, "first": 20}),
    ("lunch", {"near": HELSINKI, "first": 20}),
    ("咖啡", {"near": SHANGHAI, "radius": 5000.0, "first": 20}),
    ("火锅", {"near": SHANGHAI, "first": 10}),
    ("happy hour", {"first": 20}),
)


@pytest.mark.parametrize(("text", "variables"), CASES)
async def test_every_edge_is_what_postgresql_says(
    gql: GraphQL, sql: psycopg.Connection[Any], text: str, variables: dict[str, Any]
) -> None:
    data = await gql.data(PAGE, {"q": text, **variables})
    edges = data["searchDeals"]["edges"]
    assert edges
    near = variables.get("near")
    for edge in edges:
        deal_id = decode_id(edge["node"]["id"])
        row = sql.execute(DEAL, [deal_id]).fetchone()
        assert row is not None
        title, remaining, price, currency, merchant_id, merchant_name, rating = row
        node = edge["node"]
        assert (node["title"], node["remainingQuantity"]) == (title, remaining)
        assert node["price"] == {"amount": f"{price:.2f}", "currency": currency}
        assert decode_id(node["merchant"]["id"]) == merchant_id
        assert node["merchant"]["name"] == merchant_name
        assert node["merchant"]["rating"] == (None if rating is None else float(rating))
        if near is None:
            assert (edge["distanceMeters"], edge["store"]) == (None, None)
            continue
        values = {"lat": near["lat"], "lng": near["lng"], "deal": deal_id}
        nearest = sql.execute(NEAREST, values).fetchone()
        assert nearest is not None
        store_id, store_name, distance = nearest
        assert decode_id(edge["store"]["id"]) == store_id
        assert edge["store"]["name"] == store_name
        assert edge["store"]["merchant"]["name"] == merchant_name
        assert edge["distanceMeters"] == round(distance, 2)
        if "radius" in variables:
            assert edge["distanceMeters"] <= variables["radius"]


@pytest.mark.parametrize(("text", "variables"), CASES)
async def test_a_page_costs_one_statement(
    gql: GraphQL, server: RunningServer, text: str, variables: dict[str, Any]
) -> None:
    """Deals, merchants and nearest stores of a page: one statement, whatever its size."""
    await gql.data(PAGE, {"q": text, **variables})  # warm pools and caches
    server.statements.clear()
    data = await gql.data(PAGE, {"q": text, **variables})
    assert data["searchDeals"]["edges"]
    assert server.statements.count() == 1


async def test_no_match_costs_no_statement(gql: GraphQL, server: RunningServer) -> None:
    server.statements.clear()
    data = await gql.data(PAGE, {"q": "qzxjvwq", "near": HELSINKI, "first": 20})
    assert data["searchDeals"] == {"totalCount": 0, "edges": []}
    assert server.statements.count() == 0
