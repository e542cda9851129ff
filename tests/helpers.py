"""Shared test helpers: brute-force geodesic reference and cursor walks over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from geographiclib.geodesic import Geodesic

from tests.conftest import GraphQL

HELSINKI = {"lat": 60.1699, "lng": 24.9384}
SHANGHAI = {"lat": 31.22222, "lng": 121.45806}


def geodesic_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    return float(Geodesic.WGS84.Inverse(lat1, lng1, lat2, lng2)["s12"])


def deal_store_points(sql: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every (published, active, not sold-out deal, store) pair with what the filters look
    at."""
    rows = sql.execute(
        """
        SELECT d.id AS deal_id, s.id AS store_id, m.id AS merchant_id,
               ST_Y(s.location::geometry) AS lat, ST_X(s.location::geometry) AS lng,
               d.price, coalesce(d.category_slug, m.category_slug), m.rating, d.discount_percent
        FROM deals d JOIN deal_stores ds ON ds.deal_id = d.id
        JOIN stores s ON s.id = ds.store_id JOIN merchants m ON m.id = d.merchant_id
        WHERE d.status = 'PUBLISHED' AND d.valid_from <= now() AND d.valid_until > now()
          AND (d.remaining_quantity IS NULL OR d.remaining_quantity > 0)
        """
    ).fetchall()
    columns = [
        "deal_id",
        "store_id",
        "merchant_id",
        "lat",
        "lng",
        "price",
        "category",
        "rating",
        "discount",
    ]
    return [dict(zip(columns, row, strict=True)) for row in rows]


def nearest_within(
    points: list[dict[str, Any]], key: str, centre: dict[str, float], radius: float
) -> dict[int, float]:
    """entity id -> geodesic distance of its nearest store within ``radius``."""
    nearest: dict[int, float] = {}
    for point in points:
        distance = geodesic_m(centre["lat"], centre["lng"], point["lat"], point["lng"])
        if distance <= radius and distance < nearest.get(point[key], float("inf")):
            nearest[point[key]] = distance
    return nearest


async def walk(
    gql: GraphQL, field: str, selection: str, variables: dict[str, Any], page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """Follow ``endCursor`` to the end; return every edge and the reported totalCount."""
    query = walk_query(field, selection)
    edges: list[dict[str, Any]] = []
    after = None
    totals = set()
    for _ in range(1000):
        data = await gql.data(query, {**variables, "first": page_size, "after": after})
        connection = data[field]
        totals.add(connection["totalCount"])
        edges.extend(connection["edges"])
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
        assert after == connection["edges"][-1]["cursor"]
    assert len(totals) == 1, f"totalCount changed while walking: {totals}"
    return edges, totals.pop()


def walk_query(field: str, selection: str) -> str:
    """The paging query of :func:`walk` (also run compiled by tests/discovery/test_compiled.py)."""
    return f"""
    query Walk($near: GeoPointInput!, $radius: Float, $filter: {_filter_type(field)},
               $sort: {_sort_type(field)}, $first: Int, $after: String) {{
      {field}(near: $near, radiusMeters: $radius, filter: $filter, sort: $sort,
              first: $first, after: $after) {{
        totalCount pageInfo {{ hasNextPage endCursor }}
        edges {{ cursor distanceMeters {selection} }}
      }}
    }}"""


def _filter_type(field: str) -> str:
    return "DealFilter" if field == "nearbyDeals" else "MerchantFilter"


def _sort_type(field: str) -> str:
    return "DealSort" if field == "nearbyDeals" else "MerchantSort"


def sdl_without_descriptions(sdl: str) -> str:
    """The SDL printed again without its descriptions, so each field with its arguments is
    on one line (``node(id: ID!): Node``) as the contract writes it: documented arguments
    would otherwise be printed one per line."""
    import dataclasses

    from graphql import parse, print_ast, visit
    from graphql.language import Visitor

    class Undocumented(Visitor):
        def leave(self, node: Any, *_: Any) -> Any:
            if getattr(node, "description", None) is None:
                return None  # keep the node (with whatever its children became)
            return dataclasses.replace(node, description=None)

    return print_ast(visit(parse(sdl), Undocumented()))


def decode_id(global_id: str) -> int:
    import base64

    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return int(raw.split(":")[1])


_DEAL_STATE = ("price", "valid_from", "valid_until", "total_quantity", "remaining_quantity")


@contextmanager
def deal_restored(sql: psycopg.Connection[Any], deal_id: int) -> Iterator[None]:
    """Let a test change a seeded deal's price, validity and stock; put them back exactly after."""
    columns = ", ".join(_DEAL_STATE)
    saved = sql.execute(f"SELECT {columns} FROM deals WHERE id = %s", [deal_id]).fetchone()
    assert saved is not None
    try:
        yield
    finally:
        assignments = ", ".join(f"{column} = %s" for column in _DEAL_STATE)
        sql.execute(f"UPDATE deals SET {assignments} WHERE id = %s", [*saved, deal_id])
