"""Root query fields are nullable: one root field's error (search down, a bad cursor) leaves the
other root fields' data in the same response (CONTRACT: "Root query fields are nullable")."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from tests.conftest import GraphQL, free_port, gateway_settings, serve_in_thread
from tests.helpers import HELSINKI

README = Path(__file__).resolve().parents[2] / "README.md"
SEARCH_FIELDS = ("searchDeals", "autocomplete")


def readme_query() -> str:
    """The query the README asks a newcomer to try first (nearby + search + autocomplete)."""
    text = README.read_text(encoding="utf-8")
    found = re.search(r"prints the playground URL.*?```graphql\n(.*?)```", text, re.S)
    assert found, "README.md lost its first example query"
    query = found.group(1)
    for field in ("nearbyDeals", *SEARCH_FIELDS):
        assert field + "(" in query, field
    return query


@pytest.fixture(scope="module")
def searchless_gateway(database_url: str) -> Any:
    """A gateway whose search server is unreachable (nothing listens on the port)."""
    dead = f"http://127.0.0.1:{free_port()}"
    app = create_app(gateway_settings(database_url, dead), warm_up=False)
    base_url, server, thread = serve_in_thread(app)
    yield base_url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
async def searchless(searchless_gateway: str) -> AsyncIterator[GraphQL]:
    async with httpx.AsyncClient(base_url=searchless_gateway, timeout=30) as http:
        yield GraphQL(http)


def codes_by_path(body: dict[str, Any]) -> dict[str, str]:
    return {
        ".".join(map(str, error["path"])): error["extensions"]["code"]
        for error in body.get("errors", [])
    }


async def test_the_readme_query_keeps_its_nearby_deals_with_search_down(
    searchless: GraphQL, gql: GraphQL
) -> None:
    body = await searchless(readme_query())
    assert codes_by_path(body) == dict.fromkeys(SEARCH_FIELDS, "SEARCH_UNAVAILABLE")
    assert body["data"]["searchDeals"] is None and body["data"]["autocomplete"] is None
    nearby = body["data"]["nearbyDeals"]
    assert isinstance(nearby["totalCount"], int)
    # the very data a healthy gateway gives for the nearby part (openNow may leave it empty)
    healthy = await gql(readme_query())
    assert "errors" not in healthy, healthy["errors"]
    assert nearby == healthy["data"]["nearbyDeals"]


async def test_nearby_deals_are_there_beside_a_failing_search(searchless: GraphQL) -> None:
    body = await searchless(
        """query($near: GeoPointInput!) {
             nearbyDeals(near: $near, first: 3) { totalCount edges { node { title } } }
             searchDeals(query: "pizza", first: 3) { totalCount }
             categories { slug }
           }""",
        {"near": HELSINKI},
    )
    assert codes_by_path(body) == {"searchDeals": "SEARCH_UNAVAILABLE"}
    assert len(body["data"]["nearbyDeals"]["edges"]) == 3
    assert body["data"]["searchDeals"] is None
    assert body["data"]["categories"]


async def test_a_bad_cursor_on_one_root_field_leaves_the_others(gql: GraphQL) -> None:
    body = await gql(
        """query($near: GeoPointInput!) {
             broken: nearbyDeals(near: $near, first: 2, after: "not-a-cursor") { totalCount }
             nearbyDeals(near: $near, first: 2) { edges { cursor node { title } } }
             searchDeals(query: "kahvi", first: 2, after: "not-a-cursor") { totalCount }
             autocomplete(prefix: "kahv") { text }
           }""",
        {"near": HELSINKI},
    )
    assert codes_by_path(body) == {"broken": "BAD_USER_INPUT", "searchDeals": "BAD_USER_INPUT"}
    data = body["data"]
    assert data["broken"] is None and data["searchDeals"] is None
    assert len(data["nearbyDeals"]["edges"]) == 2
    assert data["autocomplete"]
