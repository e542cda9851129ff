"""``commerce.hours``: what an expression means, what is unknown, and whose clock it uses.

The Helsinki wall-clock cases (spans past midnight, summer time, holidays) are in
``tests/discovery/test_hours.py``; these are the rules around them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from commerce.hours import HoursState, is_open, open_state

FRIDAY_NOON_UTC = datetime(2026, 6, 5, 12, 0, tzinfo=UTC)
HEL = "Europe/Helsinki"


@pytest.mark.parametrize("hours", [None, "", "   "])
def test_missing_hours_are_unknown_not_closed(hours: str | None) -> None:
    assert open_state(hours, HEL, "FI", FRIDAY_NOON_UTC) is HoursState.UNKNOWN
    assert is_open(hours, HEL, "FI", FRIDAY_NOON_UTC) is None


@pytest.mark.parametrize("hours", ["whenever we feel like it", "Mo-Fr 25:00-26:00", "Xx 10-"])
def test_unparseable_hours_are_unknown_never_an_error(hours: str) -> None:
    assert open_state(hours, HEL, "FI", FRIDAY_NOON_UTC) is HoursState.UNKNOWN
    assert is_open(hours, HEL, "FI", FRIDAY_NOON_UTC) is None


def test_a_naive_instant_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        open_state("24/7", HEL, "FI", datetime(2026, 6, 5, 12, 0))


def test_open_and_closed_are_told_apart() -> None:
    assert open_state("Mo-Fr 09:00-17:00", HEL, "FI", FRIDAY_NOON_UTC) is HoursState.OPEN
    assert open_state("Sa-Su 09:00-17:00", HEL, "FI", FRIDAY_NOON_UTC) is HoursState.CLOSED
    assert is_open("Mo-Fr 09:00-17:00", HEL, "FI", FRIDAY_NOON_UTC) is True
    assert is_open("Sa-Su 09:00-17:00", HEL, "FI", FRIDAY_NOON_UTC) is False


def test_the_same_instant_is_judged_on_each_stores_own_clock() -> None:
    # 12:00 UTC is 15:00 in Helsinki, 08:00 in New York and 21:00 in Tokyo
    hours = "Mo-Su 09:00-17:00"
    assert is_open(hours, HEL, "FI", FRIDAY_NOON_UTC) is True
    assert is_open(hours, "America/New_York", "US", FRIDAY_NOON_UTC) is False
    assert is_open(hours, "Asia/Tokyo", "JP", FRIDAY_NOON_UTC) is False


def test_surrounding_space_and_the_country_case_do_not_matter() -> None:
    assert is_open("  Mo-Fr 09:00-17:00  ", HEL, "fi", FRIDAY_NOON_UTC) is True


@pytest.mark.parametrize("country", ["", "ZZ"])
def test_an_unknown_country_still_has_weekly_hours(country: str) -> None:
    assert is_open("Mo-Fr 09:00-17:00", HEL, country, FRIDAY_NOON_UTC) is True
    assert is_open("Sa-Su 09:00-17:00", HEL, country, FRIDAY_NOON_UTC) is False
