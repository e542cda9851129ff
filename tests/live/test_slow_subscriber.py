"""A subscriber that stops reading is dropped and told (SLOW_SUBSCRIBER), and never holds up
the others: the schema's subscription run directly on a hub with tiny queues, loading from
the real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from commerce.live.events import LiveEvent
from commerce.live.hub import EventHub, LiveConfig
from db.database import Database
from gateway.app import database_from, search_index_from
from gateway.settings import Settings
from schema.build import build_schema
from schema.context import Context
from tests.orders.fixtures import ShopFactory

DEAL_STOCK = "subscription($deal: ID!) { dealStock(dealId: $deal) { remainingQuantity } }"


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    database = database_from(settings)
    yield database
    await database.dispose()


def stock_changed(deal_id: int) -> LiveEvent:
    return LiveEvent("deal", "STOCK", deal_id, datetime.now(UTC), deal=deal_id)


async def test_a_subscriber_that_falls_behind_is_dropped_and_told(
    settings: Settings, database: Database, shops: ShopFactory
) -> None:
    shop = shops(stock=9)
    hub = EventHub(LiveConfig(queue_size=2, deal_stock_interval_s=0.05))
    schema = build_schema()
    search = search_index_from(settings)

    async def subscribe() -> Any:
        context = Context(database=database, search=search, request_id="t", live=hub)
        stream = await schema.subscribe(
            DEAL_STOCK, variable_values={"deal": shop.deal}, context_value=context
        )
        assert hasattr(stream, "__anext__"), stream
        return stream

    try:
        slow, quick = await subscribe(), await subscribe()
        for stream in (slow, quick):
            assert (await anext(stream)).data == {"dealStock": {"remainingQuantity": 9}}
        for remaining in (8, 7, 6):  # the slow one reads nothing meanwhile: 3 > its queue
            await database_update(database, shop.deal_id, remaining)
            hub.publish(stock_changed(shop.deal_id))
            assert (await anext(quick)).data == {"dealStock": {"remainingQuantity": remaining}}
        assert hub.dropped_subscribers == 1
        told = await anext(slow)
        assert told.data is None
        assert told.errors[0].extensions["code"] == "SLOW_SUBSCRIBER"
        assert "subscribe again" in told.errors[0].message
        with pytest.raises(StopAsyncIteration):
            await anext(slow)
        assert hub.subscriptions == 1  # the quick one is still in
        await quick.aclose()
        assert hub.subscriptions == 0
    finally:
        await search.client.close()


async def database_update(database: Database, deal_id: int, remaining: int) -> None:
    async with database.write() as conn:
        await conn.execute(
            text("UPDATE deals SET remaining_quantity = :r WHERE id = :id"),
            {"r": remaining, "id": deal_id},
        )
