"""Weekly slot schedules (``domain/slots.py``) and the setDealSlots input rules, without
services: wall times in the store's zone across both daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from commerce.errors import UserInputError
from commerce.merchants.slots import WeeklyInput, checked_rules, horizon, upcoming
from domain.slots import (
    WeeklyRule,
    clock_text,
    generate,
    local_instant,
    parse_clock,
    rule_from_json,
)

HELSINKI = ZoneInfo("Europe/Helsinki")
UTC_ZONE = ZoneInfo("UTC")
# 2026: clocks go forward at 03:00 on Sunday 29 March, back at 04:00 on Sunday 25 October.
SPRING = date(2026, 3, 29)
AUTUMN = date(2026, 10, 25)


def rule(weekday: int, start: str, end: str, every: int = 30, capacity: int = 4) -> WeeklyRule:
    first, last = parse_clock(start), parse_clock(end)
    assert first is not None and last is not None
    return WeeklyRule(weekday, first, last, every, capacity)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_hour_skipped_in_spring_gives_no_slot() -> None:
    slots = generate([rule(7, "02:00", "05:00")], HELSINKI, SPRING, SPRING)
    # 02:00 and 02:30 are EET (UTC+2); 03:00 and 03:30 do not exist; 04:00 on is EEST (UTC+3)
    assert [s.starts_at for s in slots] == [
        utc("2026-03-29T00:00"),
        utc("2026-03-29T00:30"),
        utc("2026-03-29T01:00"),
        utc("2026-03-29T01:30"),
    ]
    assert [s.starts_at.astimezone(HELSINKI).strftime("%H:%M") for s in slots] == [
        "02:00",
        "02:30",
        "04:00",
        "04:30",
    ]


def test_the_hour_repeated_in_autumn_gives_one_slot_each() -> None:
    slots = generate([rule(7, "02:00", "05:00", every=60)], HELSINKI, AUTUMN, AUTUMN)
    # 03:00 happens twice (EEST, then EET): one slot, at its first occurrence
    assert [s.starts_at for s in slots] == [
        utc("2026-10-24T23:00"),  # 02:00 EEST
        utc("2026-10-25T00:00"),  # 03:00 EEST (the first of the two)
        utc("2026-10-25T02:00"),  # 04:00 EET
    ]
    assert len({s.starts_at for s in slots}) == len(slots)


def test_a_week_in_each_season_keeps_the_wall_clock() -> None:
    rules = [rule(d, "10:00", "12:00", every=60) for d in range(1, 8)]
    winter = generate(rules, HELSINKI, date(2026, 3, 23), date(2026, 4, 5))
    walls = {s.starts_at.astimezone(HELSINKI).strftime("%H:%M") for s in winter}
    assert walls == {"10:00", "11:00"}
    assert len(winter) == 14 * 2
    offsets = {s.starts_at.astimezone(HELSINKI).utcoffset() for s in winter}
    assert offsets == {timedelta(hours=2), timedelta(hours=3)}


def test_weekdays_are_iso_and_rules_on_the_same_instant_merge() -> None:
    monday = date(2026, 6, 1)
    assert monday.isoweekday() == 1
    rules = [rule(1, "09:00", "10:00", every=60, capacity=2), rule(1, "09:00", "09:30", capacity=5)]
    slots = generate(rules, HELSINKI, monday, monday + timedelta(days=6))
    assert [(s.starts_at.astimezone(HELSINKI).hour, s.capacity) for s in slots] == [(9, 5)]


def test_a_slot_ends_before_end_and_24_00_is_midnight() -> None:
    slots = generate(
        [rule(3, "22:00", "24:00", every=45)], UTC_ZONE, date(2026, 6, 3), date(2026, 6, 3)
    )
    assert [s.starts_at.strftime("%H:%M") for s in slots] == ["22:00", "22:45", "23:30"]


@pytest.mark.parametrize("text", ["9:00", "25:00", "12:60", "24:01", "ab:cd", "1200", ""])
def test_malformed_clock_times(text: str) -> None:
    assert parse_clock(text) is None


def test_clock_round_trip_and_stored_rules() -> None:
    assert [parse_clock(t) for t in ("00:00", "09:30", "24:00")] == [0, 570, 1440]
    assert clock_text(570) == "09:30"
    stored = rule(5, "17:00", "21:00", 15, 3)
    assert rule_from_json(stored.as_json()) == stored


def test_local_instant_reports_the_gap() -> None:
    assert local_instant(SPRING, 3 * 60 + 30, HELSINKI) is None
    assert local_instant(SPRING, 4 * 60, HELSINKI) == utc("2026-03-29T01:00")


def test_the_plan_horizon_and_upcoming_slots_follow_the_store_day() -> None:
    now = utc("2026-06-01T21:30")  # already Tuesday 00:30 in Helsinki
    first, last = horizon(HELSINKI, 14, now)
    assert (first, last) == (date(2026, 6, 2), date(2026, 6, 15))
    slots = upcoming([rule(2, "00:00", "02:00", every=60)], HELSINKI, first, first, now)
    assert [s.starts_at for s in slots] == [utc("2026-06-01T22:00")]  # 00:00 has passed


@pytest.mark.parametrize(
    ("given", "argument"),
    [
        (WeeklyInput(0, "10:00", "12:00", 30, 1), "input.weekly[0].weekday"),
        (WeeklyInput(8, "10:00", "12:00", 30, 1), "input.weekly[0].weekday"),
        (WeeklyInput(1, "10", "12:00", 30, 1), "input.weekly[0].start"),
        (WeeklyInput(1, "24:00", "24:00", 30, 1), "input.weekly[0].start"),
        (WeeklyInput(1, "12:00", "10:00", 30, 1), "input.weekly[0].end"),
        (WeeklyInput(1, "10:00", "12:00", 4, 1), "input.weekly[0].everyMinutes"),
        (WeeklyInput(1, "10:00", "12:00", 30, -1), "input.weekly[0].capacity"),
    ],
)
def test_weekly_input_is_checked(given: WeeklyInput, argument: str) -> None:
    with pytest.raises(UserInputError) as raised:
        checked_rules((given,))
    assert raised.value.argument == argument
