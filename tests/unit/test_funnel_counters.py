"""The funnel's in-memory counters: what a flush sends (one row per deal and group, in the
order every flush locks rows in), the cap on counters held between flushes, and counts a
failed flush puts back."""

from __future__ import annotations

import time

import pytest

from commerce.insights.attribution import Channel
from commerce.insights.funnel import HOUR_S, Funnel, FunnelConfig
from db.insights_sql import CountColumns, int_array, text_array

NOW = 1_764_000_000  # a fixed clock: every count falls in one hour
HOUR = NOW // HOUR_S * HOUR_S


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: float(NOW))  # what the funnel reads


def funnel(max_keys: int = 1000) -> Funnel:
    return Funnel(FunnelConfig(max_keys=max_keys), b"secret")


def rows(counts: CountColumns) -> list[tuple[int, int, str, int, int, int]]:
    return list(
        zip(
            counts.deals, counts.hours, counts.channels, counts.partners,
            counts.impressions, counts.views, strict=True,
        )
    )  # fmt: skip


def test_counts_come_out_by_hour_channel_partner_then_deal() -> None:
    counters = funnel()
    counters.impressions([9, 3, 9], Channel.SEARCH, None)
    counters.impressions([9, 4], Channel.NEARBY, 7)
    counters.impressions([5], Channel.NEARBY, None)
    counters.detail_view(5, None)
    counters.detail_view(2, 7)
    assert counters.pending_counters == 7
    assert rows(counters.take()) == [
        (5, HOUR, "DIRECT", 0, 0, 1),
        (2, HOUR, "DIRECT", 7, 0, 1),
        (5, HOUR, "NEARBY", 0, 1, 0),
        (4, HOUR, "NEARBY", 7, 1, 0),
        (9, HOUR, "NEARBY", 7, 1, 0),
        (3, HOUR, "SEARCH", 0, 1, 0),
        (9, HOUR, "SEARCH", 0, 2, 0),
    ]
    assert counters.pending_counters == 0
    assert len(counters.take()) == 0


def test_impressions_and_views_of_one_deal_and_group_are_one_row() -> None:
    counters = funnel()
    counters.impressions([4, 6], Channel.DIRECT, None)
    counters.detail_view(4, None)
    counters.detail_view(4, None)
    counters.detail_view(1, None)
    assert rows(counters.take()) == [
        (1, HOUR, "DIRECT", 0, 0, 1),
        (4, HOUR, "DIRECT", 0, 1, 2),
        (6, HOUR, "DIRECT", 0, 1, 0),
    ]


def test_past_max_keys_new_counters_are_dropped_and_counted_old_ones_still_count() -> None:
    counters = funnel(max_keys=3)
    counters.impressions([1, 2], Channel.NEARBY, None)
    counters.impressions([2, 3, 4, 5], Channel.NEARBY, None)  # 3 fits, 4 and 5 do not
    counters.impressions([1], Channel.NEARBY, None)  # at the cap: an old counter still counts
    counters.detail_view(1, None)  # a new counter (views): dropped
    assert counters.pending_counters == 3
    assert counters.stats.dropped == 3
    assert rows(counters.take()) == [
        (1, HOUR, "NEARBY", 0, 2, 0),
        (2, HOUR, "NEARBY", 0, 2, 0),
        (3, HOUR, "NEARBY", 0, 1, 0),
    ]
    counters.impressions([7, 8, 9], Channel.NEARBY, None)  # the flush made room
    assert counters.pending_counters == 3 and counters.stats.dropped == 3


def test_put_back_adds_the_counts_to_those_counted_since() -> None:
    counters = funnel()
    counters.impressions([3, 1], Channel.MAP, 2)
    counters.detail_view(3, 2)
    taken = counters.take()
    counters.impressions([3], Channel.MAP, 2)
    counters.put_back(taken)
    assert rows(counters.take()) == [
        (3, HOUR, "DIRECT", 2, 0, 1),
        (1, HOUR, "MAP", 2, 1, 0),
        (3, HOUR, "MAP", 2, 2, 0),
    ]


def test_a_disabled_funnel_counts_nothing() -> None:
    counters = Funnel(FunnelConfig(enabled=False), b"secret")
    counters.impressions([1, 2], Channel.NEARBY, None)
    counters.detail_view(1, None)
    assert counters.pending_counters == 0 and len(counters.take()) == 0


def test_array_literals_quote_each_string_and_keep_the_order() -> None:
    assert int_array([3, 10, -1]) == "{3,10,-1}"
    assert int_array([]) == "{}"
    assert text_array(['a"b', "c\\d", 'a"b', "NEARBY"]) == '{"a\\"b","c\\\\d","a\\"b","NEARBY"}'
