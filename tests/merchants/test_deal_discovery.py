"""Publish then found, pause then gone: a deal's lifecycle reaches all four discovery paths
(nearbyDeals, searchDeals, dealsInView and vector tiles) once the search outbox is
published, which a serving gateway does every second (``search_sync``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest

from gateway.app import create_app, database_from, search_index_from
from gateway.settings import Settings
from tests.conftest import GraphQL, serve_in_thread
from tests.discovery.map_helpers import tile_of
from tests.discovery.test_search_sync import Services, publish_all
from tests.discovery.test_tiles import features
from tests.helpers import decode_id
from tests.merchants.deal_helpers import (
    END_DEAL,
    PAUSE_DEAL,
    PUBLISH_DEAL,
    TRISTAN,
    DealShop,
    run,
)

WORD = "zorblaxian"
ZOOM = 15
BOX = {
    "west": TRISTAN["lng"] - 0.01,
    "east": TRISTAN["lng"] + 0.01,
    "south": TRISTAN["lat"] - 0.01,
    "north": TRISTAN["lat"] + 0.01,
}
NEARBY = """query($near: GeoPointInput!) {
  nearbyDeals(near: $near, radiusMeters: 500, first: 100) { edges { node { id } } } }"""
IN_VIEW = """query($bbox: BoundingBoxInput!, $zoom: Int!) {
  dealsInView(bbox: $bbox, zoom: $zoom) { deals { id } } }"""
SEARCH = """query($q: String!) { searchDeals(query: $q, first: 50) { edges { node { id } } } }"""


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    services = Services(database_from(settings), search_index_from(settings))
    yield services
    await services.index.client.close()
    await services.database.dispose()


async def shown(gql: GraphQL, client: httpx.AsyncClient, deal_id: str) -> dict[str, bool]:
    """Whether each discovery path shows the deal."""
    nearby = await gql.data(NEARBY, {"near": TRISTAN})
    in_view = await gql.data(IN_VIEW, {"bbox": BOX, "zoom": ZOOM})
    x, y = tile_of(TRISTAN["lat"], TRISTAN["lng"], ZOOM)
    tile = await features(client, f"/tiles/deals/{ZOOM}/{x}/{y}.mvt")
    found = await gql.data(SEARCH, {"q": WORD})
    ids = {
        "nearbyDeals": [e["node"]["id"] for e in nearby["nearbyDeals"]["edges"]],
        "searchDeals": [e["node"]["id"] for e in found["searchDeals"]["edges"]],
        "dealsInView": [d["id"] for d in in_view["dealsInView"]["deals"]],
        "tiles": [f["properties"]["id"] for f in tile],
    }
    return {path: deal_id in found_ids for path, found_ids in ids.items()}


def everywhere(visible: bool) -> dict[str, bool]:
    return dict.fromkeys(("nearbyDeals", "searchDeals", "dealsInView", "tiles"), visible)


async def test_publish_then_found_pause_then_gone_on_all_four_paths(
    deal_shop: DealShop,
    gql: GraphQL,
    client: httpx.AsyncClient,
    services: Services,
    sql: psycopg.Connection[Any],
) -> None:
    deal = await deal_shop.create(title=f"Zorblaxian lobster feast {time.time_ns()}")
    deal_id = deal["id"]
    await publish_all(services)
    assert await shown(gql, client, deal_id) == everywhere(False)  # a draft is nowhere

    owner = deal_shop.owner
    steps: list[tuple[str, bool]] = [
        (PUBLISH_DEAL, True),
        (PAUSE_DEAL, False),
        (PUBLISH_DEAL, True),
        (END_DEAL, False),
    ]
    for version, (document, visible) in enumerate(steps, start=1):
        pending = pending_of(sql, deal_id)
        result = await run(owner, document, {"dealId": deal_id, "expectedVersion": version})
        assert result["__typename"] == "DealSaved", result
        assert pending_of(sql, deal_id) == pending + 1  # the status trigger queued it
        await publish_all(services)
        assert await shown(gql, client, deal_id) == everywhere(visible), document


def pending_of(sql: psycopg.Connection[Any], deal_id: str) -> int:
    row = sql.execute(
        "SELECT count(*) FROM search_outbox WHERE entity = 'deal' AND entity_key = %s",
        [str(decode_id(deal_id))],
    ).fetchone()
    assert row is not None
    return int(row[0])


async def test_a_served_gateway_publishes_the_change_within_seconds(
    deal_shop: DealShop, settings: Settings, services: Services
) -> None:
    """The session server leaves the outbox to the tests; a gateway with search_sync
    publishes it by itself (here every 0.2 s)."""
    deal = await deal_shop.create(title=f"Zorblaxian oyster board {time.time_ns()}")
    await publish_all(services)
    live = settings.model_copy(update={"search_sync": True, "search_sync_interval_s": 0.2})
    base_url, server, thread = serve_in_thread(create_app(live))
    steps = (("publishDeal", PUBLISH_DEAL, 1, True), ("pauseDeal", PAUSE_DEAL, 2, False))
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            fresh = GraphQL(http)
            for name, document, version, visible in steps:
                moved = await run(
                    deal_shop.owner, document, {"dealId": deal["id"], "expectedVersion": version}
                )
                assert moved["__typename"] == "DealSaved", moved
                started = time.monotonic()
                while await shown(fresh, http, deal["id"]) != everywhere(visible):
                    assert time.monotonic() - started < 5, f"{name}: not followed within 5 s"
                    await asyncio.sleep(0.1)
                print(f"\n{name}: all four paths followed in {time.monotonic() - started:.2f} s")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
