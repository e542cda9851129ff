"""Live events without services: payload parsing, topics, merchant kinds, the fan-out's
bounds (a slow subscriber is dropped and told, others keep receiving), connection counting
and the token of a connection_init payload."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
import pytest

from commerce.errors import UnavailableError
from commerce.live.events import LiveEvent, merchant_kind, parse_event
from commerce.live.hub import EventHub, LiveConfig, Resync, SubscriberTooSlowError
from commerce.live.limits import ConnectionsPerCaller
from gateway.live_ws import authorization_from

AT = datetime(2026, 1, 1, tzinfo=UTC)


def event(source: str = "deal", kind: str = "STOCK", **ids: int) -> LiveEvent:
    payload = {"e": source, "kind": kind, "id": 1, **ids}
    parsed = parse_event(orjson.dumps(payload).decode(), AT)
    assert parsed is not None
    return parsed


def test_a_redemption_reaches_its_store_merchant_and_booking() -> None:
    redeemed = event("redemption", "REDEEMED", store=3, merchant=4, booking=5, deal=6, voucher=7)
    assert redeemed.topics() == [("store", 3), ("merchant", 4), ("booking", 5)]
    assert merchant_kind(redeemed) == "REDEEMED"
    assert event("deal", deal=6, merchant=4).topics() == [("deal", 6)]
    assert event("booking", "BOOKED", booking=1, merchant=4).topics() == [
        ("booking", 1),
        ("merchant", 4),
    ]


@pytest.mark.parametrize(
    ("source", "kind", "shown"),
    [
        ("booking", "BOOKED", "BOOKED"),
        ("booking", "CANCELLED", "CANCELLED"),
        ("booking", "EXPIRED", None),
        ("booking", "CONFIRMED", None),
        ("payment", "SUCCEEDED", "PAID"),
        ("payment", "PENDING", None),
        ("payment", "FAILED", None),
        ("payment", "PARTIALLY_REFUNDED", "REFUNDED"),
        ("payment", "REFUNDED", "REFUNDED"),
        ("redemption", "REVERSED", None),
        ("review", "REVIEWED", "REVIEWED"),
        ("deal", "STOCK", None),
    ],
)
def test_merchant_activity_kinds(source: str, kind: str, shown: str | None) -> None:
    assert merchant_kind(event(source, kind)) == shown


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        "[1, 2]",
        '{"e": "booking", "kind": "BOOKED"}',  # no id
        '{"e": "elsewhere", "kind": "X", "id": 1}',
        '{"e": "deal", "kind": "STOCK", "id": -1}',
        '{"e": "deal", "kind": "STOCK", "id": 1, "store": "3"}',
        '{"e": "deal", "kind": "STOCK", "id": true}',
        '{"e": "deal", "kind": 5, "id": 1}',
        '{"e": "deal", "kind": "STOCK", "id": 1, "pad": "' + "x" * 9000 + '"}',
    ],
)
def test_payloads_that_are_not_ours_are_ignored(payload: str) -> None:
    assert parse_event(payload) is None


async def test_a_slow_subscriber_is_dropped_and_told_while_others_keep_receiving() -> None:
    hub = EventHub(LiveConfig(queue_size=3))
    async with hub.join([("deal", 1)]) as slow, hub.join([("deal", 1)]) as quick:
        for _ in range(3):
            assert hub.publish(event(deal=1)) == 2
            assert isinstance(await quick.get(), LiveEvent)
        assert hub.publish(event(deal=1)) == 1  # slow's queue was full: it is out
        assert hub.dropped_subscribers == 1
        assert hub.subscriptions == 1
        with pytest.raises(SubscriberTooSlowError) as told:
            await slow.get()
        assert told.value.code == "SLOW_SUBSCRIBER"
        assert isinstance(await quick.get(), LiveEvent)
        assert hub.publish(event(deal=1)) == 1
    assert hub.subscriptions == 0
    assert hub.publish(event(deal=1)) == 0


async def test_publishing_never_waits_and_topics_are_separate() -> None:
    hub = EventHub(LiveConfig(queue_size=1))
    async with hub.join([("deal", 1)]) as one, hub.join([("deal", 2)]) as two:
        hub.publish(event(deal=2))
        assert one.drain() == []
        assert len(two.drain()) == 1
        hub.resync()
        assert isinstance(await asyncio.wait_for(one.get(), 1), Resync)


async def test_the_hub_bounds_the_subscriptions_of_a_process() -> None:
    hub = EventHub(LiveConfig(max_subscriptions=2))
    async with hub.join([("deal", 1)]), hub.join([("store", 1), ("merchant", 1)]):
        with pytest.raises(UnavailableError):
            async with hub.join([("deal", 1)]):
                pass
        assert hub.subscriptions == 2
    async with hub.join([("deal", 1)]):
        assert hub.subscriptions == 1


def test_connections_are_counted_per_caller() -> None:
    counter = ConnectionsPerCaller(limit=2)
    assert counter.acquire("sub:a")
    assert counter.acquire("sub:a")
    assert not counter.acquire("sub:a")
    assert counter.acquire("ip:127.0.0.1")
    counter.release("sub:a")
    assert counter.open_connections("sub:a") == 1
    assert counter.acquire("sub:a")
    counter.release("sub:a")
    counter.release("sub:a")
    assert counter.open_connections("sub:a") == 0


@pytest.mark.parametrize(
    ("params", "authorization"),
    [
        ({"Authorization": "Bearer abc"}, "Bearer abc"),
        ({"authorization": "Bearer abc"}, "Bearer abc"),
        ({"AUTHORIZATION": "Bearer abc"}, "Bearer abc"),
        ({"token": "abc"}, "Bearer abc"),
        ({"Authorization": 5}, None),
        ({}, None),
    ],
)
def test_the_token_of_a_connection_init_payload(
    params: dict[str, object], authorization: str | None
) -> None:
    assert authorization_from(params) == authorization
