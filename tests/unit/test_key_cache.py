"""The partner-key cache's rules: kept while live and fresh, dropped on a change of that key,
never kept when a change overlapped the lookup, bypassed while the listener is down."""

from __future__ import annotations

from commerce.partners.api_keys import PartnerKey, key_digest
from commerce.partners.keys import KeyCache, key_change_of

KEY = PartnerKey(id=7, name="p", rate_per_minute=10, cost_per_minute=100)
OTHER = PartnerKey(id=8, name="q", rate_per_minute=10, cost_per_minute=100)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def cache(live: list[bool], clock: Clock) -> KeyCache:
    return KeyCache(lambda: live[0], 30.0, monotonic=clock)


def test_a_found_key_is_kept_until_it_expires() -> None:
    clock, live = Clock(), [True]
    keys = cache(live, clock)
    keys.put(key_digest("a"), KEY, keys.generation)
    assert keys.get(key_digest("a")) == KEY
    assert keys.get(key_digest("b")) is None
    clock.now += 30.0
    assert keys.get(key_digest("a")) is None


def test_a_change_drops_that_key_only_and_zero_drops_all() -> None:
    keys = cache([True], Clock())
    keys.put(key_digest("a"), KEY, keys.generation)
    keys.put(key_digest("b"), OTHER, keys.generation)
    keys.forget(7)
    assert keys.get(key_digest("a")) is None and keys.get(key_digest("b")) == OTHER
    keys.forget(0)
    assert keys.get(key_digest("b")) is None


def test_a_lookup_that_overlapped_a_change_is_not_kept() -> None:
    keys = cache([True], Clock())
    started = keys.generation
    keys.forget(99)  # heard while the lookup was running
    keys.put(key_digest("a"), KEY, started)
    assert keys.get(key_digest("a")) is None


def test_nothing_is_kept_or_served_while_the_listener_is_down() -> None:
    live = [False]
    keys = cache(live, Clock())
    keys.put(key_digest("a"), KEY, keys.generation)
    live[0] = True
    assert keys.get(key_digest("a")) is None
    keys.put(key_digest("a"), KEY, keys.generation)
    live[0] = False
    assert keys.get(key_digest("a")) is None


def test_key_change_payloads() -> None:
    assert key_change_of('{"e" : "api_key", "kind" : "CHANGED", "id" : 12}') == 12
    assert key_change_of('{"e" : "api_key", "kind" : "TRUNCATED", "id" : 0}') == 0
    assert key_change_of('{"e" : "deal", "kind" : "STOCK", "id" : 12}') is None
    assert key_change_of('{"e" : "api_key", "id" : "12"}') is None
    assert key_change_of('{"e" : "api_key", "id" : true}') is None
    assert key_change_of('"api_key" not json') is None
