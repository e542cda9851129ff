"""What the funnel tests share: the discovery, booking and insights queries and a caller
that can carry a partner key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.orders.fixtures import REMOTE, Caller, Shop

NEARBY = """query($near: GeoPointInput!) {
  nearbyDeals(near: $near, radiusMeters: 5000, first: 50) {
    edges { node { id } attribution } } }"""
IN_VIEW = """query($bbox: BoundingBoxInput!) {
  dealsInView(bbox: $bbox, zoom: 15, limit: 500) { deals { id attribution } } }"""
DEAL = """query($id: ID!) { deal(id: $id) { id } }"""
NODE = """query($id: ID!) { node(id: $id) { id } }"""
BOOK = """mutation($input: BookDealInput!) { bookDeal(input: $input) {
  __typename ... on BookDealSuccess { booking { id totalPrice { amount } } } } }"""
FIGURES = """impressions detailViews bookings paidOrders redemptions reviews
  grossRevenue { amount currency } refunds { amount } net { amount }
  conversion { detailViewRate bookingRate paymentRate redemptionRate reviewRate }"""
INSIGHTS = f"""query($id: ID!, $from: DateTime!, $to: DateTime!, $granularity: InsightsGranularity,
                  $storeId: ID, $dealId: ID) {{
  merchant(id: $id) {{
    insights(from: $from, to: $to, granularity: $granularity, storeId: $storeId,
             dealId: $dealId) {{
      timeZone currency granularity
      buckets {{ start {FIGURES} }}
      byChannel {{ channel partner partnerKeyId impressions bookings redemptions }}
      totals {{ {FIGURES} }}
    }} }} }}"""

NEAR = {"lat": REMOTE[0], "lng": REMOTE[1]}
BOX = {
    "west": REMOTE[1] - 0.01,
    "south": REMOTE[0] - 0.01,
    "east": REMOTE[1] + 0.01,
    "north": REMOTE[0] + 0.01,
}


async def nearby_token(who: Caller, shop: Shop, **headers: str) -> str:
    """One nearbyDeals request (one impression of the shop's deal); its token."""
    body = await who.gql(NEARBY, {"near": NEAR}, Authorization=f"Bearer {who.bearer}", **headers)
    assert "errors" not in body, body
    return _token_of(body["data"]["nearbyDeals"]["edges"], shop, lambda e: e["node"]["id"])


async def map_token(who: Caller, shop: Shop) -> str:
    """One dealsInView request (one impression); the deal's token."""
    data = await who.data(IN_VIEW, {"bbox": BOX})
    return _token_of(data["dealsInView"]["deals"], shop, lambda d: d["id"])


def _token_of(items: list[dict[str, Any]], shop: Shop, id_of: Callable[[Any], str]) -> str:
    found = [item["attribution"] for item in items if id_of(item) == shop.deal]
    assert len(found) == 1, items
    token: str = found[0]
    assert token and len(token) <= 40
    return token


async def book(who: Caller, shop: Shop, key: str, quantity: int = 1, **extra: Any) -> str:
    payload = {"dealId": shop.deal, "quantity": quantity, "idempotencyKey": key, **extra}
    result = (await who.data(BOOK, {"input": payload}))["bookDeal"]
    assert result["__typename"] == "BookDealSuccess", result
    booking_id: str = result["booking"]["id"]
    return booking_id


def period(hours_before: int = 2, hours_after: int = 2) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "from": (now - timedelta(hours=hours_before)).isoformat(),
        "to": (now + timedelta(hours=hours_after)).isoformat(),
    }


async def eventually(
    read: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], within_s: float = 5.0
) -> Any:
    """Read until ``done`` says yes; the last reading after ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while True:
        value = await read()
        if done(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)
