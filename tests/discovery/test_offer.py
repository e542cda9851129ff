"""One deal sold out and back: every discovery path follows the offer rule, and the search
outbox hears only of the moments it sells out or comes back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import psycopg
import pytest

from gateway.app import database_from, search_index_from
from gateway.settings import Settings
from tests.conftest import GraphQL
from tests.discovery.map_helpers import tile_of
from tests.discovery.test_search_sync import Services, publish_all
from tests.discovery.test_tiles import features
from tests.helpers import decode_id
from tests.orders.fixtures import REMOTE, Caller, Shop, ShopFactory
from tests.orders.test_booking import CANCEL
from tests.orders.test_flow import book

TITLE = "Quetzalcoatl quinoa bowl"
WORD = "quetzalcoatl"
NEAR = {"lat": REMOTE[0], "lng": REMOTE[1]}
BOX = {
    "west": REMOTE[1] - 0.01,
    "east": REMOTE[1] + 0.01,
    "south": REMOTE[0] - 0.01,
    "north": REMOTE[0] + 0.01,
}
ZOOM = 15  # individual deals, not clusters

NEARBY = """query($near: GeoPointInput!) {
  nearbyDeals(near: $near, radiusMeters: 100, first: 100) { edges { node { id } } } }"""
IN_VIEW = """query($bbox: BoundingBoxInput!, $zoom: Int!) {
  dealsInView(bbox: $bbox, zoom: $zoom, limit: 1000) { deals { id } } }"""
SEARCH = """query($q: String!) { searchDeals(query: $q, first: 50) { edges { node { id } } } }"""
SUGGEST = """query($prefix: String!) { autocomplete(prefix: $prefix, limit: 20) { kind id } }"""

Publish = Callable[[], Awaitable[int]]


@pytest.fixture
async def publish(settings: Settings) -> AsyncIterator[Publish]:
    """Publishes the outbox until it is empty, as the gateway's publisher would."""
    services = Services(database_from(settings), search_index_from(settings))
    yield lambda: publish_all(services)
    await services.index.client.close()
    await services.database.dispose()


@pytest.fixture
async def shop(shops: ShopFactory, sql: psycopg.Connection[Any], publish: Publish) -> Shop:
    """A deal with one unit left, under a title nothing else has, indexed."""
    made = shops(stock=1)
    sql.execute("UPDATE deals SET title = %s WHERE id = %s", [TITLE, made.deal_id])
    await publish()
    return made


async def offered(gql: GraphQL, client: httpx.AsyncClient, deal_id: int) -> dict[str, bool]:
    """Whether each discovery path shows the deal."""
    nearby = await gql.data(NEARBY, {"near": NEAR})
    in_view = await gql.data(IN_VIEW, {"bbox": BOX, "zoom": ZOOM})
    x, y = tile_of(NEAR["lat"], NEAR["lng"], ZOOM)
    tile = await features(client, f"/tiles/deals/{ZOOM}/{x}/{y}.mvt")
    found = await gql.data(SEARCH, {"q": WORD})
    suggested = await gql.data(SUGGEST, {"prefix": WORD})
    ids = {
        "nearbyDeals": [e["node"]["id"] for e in nearby["nearbyDeals"]["edges"]],
        "dealsInView": [d["id"] for d in in_view["dealsInView"]["deals"]],
        "tiles": [f["properties"]["id"] for f in tile],
        "searchDeals": [e["node"]["id"] for e in found["searchDeals"]["edges"]],
        "autocomplete": [s["id"] for s in suggested["autocomplete"] if s["kind"] == "DEAL"],
    }
    return {path: deal_id in map(decode_id, found_ids) for path, found_ids in ids.items()}


def everywhere(shown: bool) -> dict[str, bool]:
    paths = ("nearbyDeals", "dealsInView", "tiles", "searchDeals", "autocomplete")
    return dict.fromkeys(paths, shown)


async def test_a_sold_out_deal_is_offered_nowhere_until_it_comes_back(
    gql: GraphQL,
    client: httpx.AsyncClient,
    shop: Shop,
    customer: Callable[[], Caller],
    publish: Publish,
) -> None:
    buyer = customer()
    assert await offered(gql, client, shop.deal_id) == everywhere(True)

    booking = await booked(buyer, shop, "last-unit", 1)  # the last unit: sold out
    await publish()
    assert await offered(gql, client, shop.deal_id) == everywhere(False)

    await cancelled(buyer, booking)  # the unit is back
    await publish()
    assert await offered(gql, client, shop.deal_id) == everywhere(True)


async def test_only_selling_out_and_coming_back_reach_the_outbox(
    shops: ShopFactory, customer: Callable[[], Caller], sql: psycopg.Connection[Any]
) -> None:
    shop, buyer = shops(stock=3), customer()
    deal_row = [("deal", str(shop.deal_id))]
    mark = outbox_mark(sql)
    first = await booked(buyer, shop, "first", 1)  # 2 left
    assert outbox_since(sql, mark) == []
    second = await booked(buyer, shop, "second", 2)  # sold out
    assert outbox_since(sql, mark) == deal_row

    mark = outbox_mark(sql)
    await cancelled(buyer, first)  # 1 left: back in stock
    assert outbox_since(sql, mark) == deal_row
    mark = outbox_mark(sql)
    await cancelled(buyer, second)  # 3 left: still in stock
    assert outbox_since(sql, mark) == []


async def booked(buyer: Caller, shop: Shop, key: str, quantity: int) -> str:
    result = await book(buyer, shop, key, quantity)
    assert result["__typename"] == "BookDealSuccess", result
    return str(result["booking"]["id"])


async def cancelled(buyer: Caller, booking_id: str) -> None:
    variables = {"input": {"bookingId": booking_id, "reason": "changed my mind"}}
    result = (await buyer.data(CANCEL, variables))["cancelBooking"]
    assert result["__typename"] == "BookingCancelled", result


def outbox_mark(sql: psycopg.Connection[Any]) -> int:
    row = sql.execute("SELECT coalesce(max(id), 0) FROM search_outbox").fetchone()
    assert row is not None
    return int(row[0])


def outbox_since(sql: psycopg.Connection[Any], mark: int) -> list[tuple[str, str]]:
    rows = sql.execute(
        "SELECT entity, entity_key FROM search_outbox WHERE id > %s ORDER BY id", [mark]
    ).fetchall()
    return [(str(entity), str(key)) for entity, key in rows]
