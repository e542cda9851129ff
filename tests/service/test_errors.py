"""Bad input gets coded GraphQL errors (never a 500, never a stack trace); surprises are masked."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import httpx
import pytest

from tests.conftest import GraphQL
from tests.helpers import HELSINKI

NEARBY = """query($near: GeoPointInput!, $radius: Float, $first: Int, $after: String,
                 $filter: DealFilter, $sort: DealSort) {
  nearbyDeals(near: $near, radiusMeters: $radius, first: $first, after: $after,
              filter: $filter, sort: $sort) { totalCount edges { cursor } }
}"""


def _cursor(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"near": {"lat": 91, "lng": 0}}, "near.lat"),
        ({"near": {"lat": -90.5, "lng": 0}}, "near.lat"),
        ({"near": {"lat": 0, "lng": 180.01}}, "near.lng"),
        ({"near": HELSINKI, "first": 1000}, "first"),
        ({"near": HELSINKI, "first": 0}, "first"),
        ({"near": HELSINKI, "radius": 0}, "radiusMeters"),
        ({"near": HELSINKI, "radius": 50_000.5}, "radiusMeters"),
        ({"near": HELSINKI, "radius": -3}, "radiusMeters"),
        ({"near": HELSINKI, "after": "not-a-cursor"}, "after"),
        ({"near": HELSINKI, "after": _cursor({"v": 1, "s": "RATING", "k": [1, 2, 3]})}, "after"),
        ({"near": HELSINKI, "after": _cursor({"v": 1, "s": "DISTANCE", "k": ["x", 1]})}, "after"),
        ({"near": HELSINKI, "filter": {"priceMin": "ten"}}, "filter.priceMin"),
        ({"near": HELSINKI, "filter": {"priceMin": "-1"}}, "filter.priceMin"),
        ({"near": HELSINKI, "filter": {"priceMin": "20", "priceMax": "10"}}, "filter.priceMin"),
        ({"near": HELSINKI, "filter": {"minRating": 6}}, "filter.minRating"),
        ({"near": HELSINKI, "filter": {"categories": ["DROP TABLE"]}}, "filter.categories"),
        ({"near": HELSINKI, "filter": {"openAt": "2026-06-01T12:00:00"}}, "filter.openAt"),
        (
            {"near": HELSINKI, "filter": {"openNow": True, "openAt": "2026-06-01T12:00:00+03:00"}},
            "filter.openAt",
        ),
    ],
)
async def test_bad_nearby_input_is_bad_user_input(
    gql: GraphQL, variables: dict[str, Any], argument: str
) -> None:
    error = await gql.error(NEARBY, variables)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == argument
    assert error["message"]


async def test_a_cursor_of_the_same_sort_works_and_another_sorts_is_rejected(gql: GraphQL) -> None:
    page = await gql.data(NEARBY, {"near": HELSINKI, "first": 2})
    cursor = page["nearbyDeals"]["edges"][-1]["cursor"]
    assert await gql.data(NEARBY, {"near": HELSINKI, "first": 2, "after": cursor})
    error = await gql.error(NEARBY, {"near": HELSINKI, "after": cursor, "sort": "PRICE_ASC"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


def _gid(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("field", "global_id", "code"),
    [
        ("merchant", "%%%", "BAD_USER_INPUT"),
        ("merchant", _gid("Merchant:abc"), "BAD_USER_INPUT"),
        ("merchant", _gid("Spaceship:1"), "BAD_USER_INPUT"),
        ("merchant", _gid("Merchant:987654321"), "NOT_FOUND"),
        ("merchant", _gid("Deal:1"), "NOT_FOUND"),
        ("deal", _gid("Deal:987654321"), "NOT_FOUND"),
        ("node", _gid("Store:987654321"), "NOT_FOUND"),
        ("node", "x" * 500, "BAD_USER_INPUT"),
    ],
)
async def test_unknown_and_malformed_ids(
    gql: GraphQL, field: str, global_id: str, code: str
) -> None:
    error = await gql.error(f"query($id: ID!) {{ {field}(id: $id) {{ id }} }}", {"id": global_id})
    assert error["extensions"]["code"] == code


async def test_syntax_and_validation_errors_are_readable_and_coded(gql: GraphQL) -> None:
    syntax = await gql.error("{ nearbyDeals(near: ")
    assert syntax["message"].startswith("Syntax Error")
    assert syntax["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    unknown = await gql.error("{ nearbyDealz { totalCount } }")
    assert "nearbyDealz" in unknown["message"]
    assert unknown["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    wrong_type = await gql.error(NEARBY, {"near": {"lat": "north", "lng": 0}})
    assert wrong_type["extensions"]["code"] == "BAD_USER_INPUT"


async def test_query_depth_is_limited(gql: GraphQL) -> None:
    nested = (
        "merchant { deals { edges { node { merchant { deals { edges { node { id } } } } } } } }"
    )
    query = (
        f"{{ nearbyDeals(near: {{lat: 60.17, lng: 24.94}}) {{ edges {{ node {{ {nested} }} }} }} }}"
    )
    error = await gql.error(query)
    assert "depth" in error["message"]


async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    dead_database_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="o2o.graphql")
    async with httpx.AsyncClient(base_url=dead_database_server, timeout=30) as http:
        response = await http.post(
            "/graphql",
            json={"query": "{ categories { slug } }"},
            headers={"X-Request-ID": "req-test-42"},
        )
    assert response.status_code < 500
    assert response.headers["x-request-id"] == "req-test-42"
    error = response.json()["errors"][0]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-test-42"}
    assert "psycopg" not in response.text and "Traceback" not in response.text
    logged = [r for r in caplog.records if "req-test-42" in r.getMessage()]
    assert logged and logged[0].exc_info is not None
