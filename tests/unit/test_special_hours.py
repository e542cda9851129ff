"""``commerce.hours`` with special days: date rules appended to the week, checked by the
parser that evaluates them, and ``next_open`` across closed days."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from commerce.errors import UserInputError
from commerce.hours import (
    check_hours,
    check_special_hours,
    is_open,
    next_open,
    parse_special,
    with_special,
)

HEL = "Europe/Helsinki"
ZONE = ZoneInfo(HEL)
WEEK = "Mo-Su 09:00-18:00"
# Thursday 24 December 2026 closed, Thursday 31 December short
SPECIAL = "2026-12-24 closed\n2026-12-31 10:00-14:00"


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZONE)


def test_special_days_become_date_rules_after_the_week() -> None:
    assert with_special(WEEK, SPECIAL) == (
        "Mo-Su 09:00-18:00; 2026 Dec 24 off; 2026 Dec 31 10:00-14:00"
    )
    assert with_special(WEEK, None) == WEEK
    assert with_special(None, "2026-01-05 closed") == "24/7 unknown; 2026 Jan 05 off"
    assert parse_special("2026-12-31 10:00-14:00\n2026-12-24 closed") == [
        (date(2026, 12, 24), "closed"),
        (date(2026, 12, 31), "10:00-14:00"),
    ]


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (at(12, 23, 12), True),  # the regular week
        (at(12, 24, 12), False),  # closed
        (at(12, 25, 12), True),
        (at(12, 31, 9, 30), False),  # short day: opens at 10
        (at(12, 31, 13), True),
        (at(12, 31, 15), False),  # short day: closed at 14
        (datetime(2026, 12, 24, 8, tzinfo=ZoneInfo("UTC")), False),  # 10:00 in Helsinki
    ],
)
def test_special_days_override_the_week(instant: datetime, expected: bool) -> None:
    assert is_open(WEEK, HEL, "FI", instant, SPECIAL) is expected
    assert is_open(WEEK, HEL, "FI", instant) is (instant.astimezone(ZONE).hour in range(9, 18))


def test_without_regular_hours_only_the_special_day_is_known() -> None:
    assert is_open(None, HEL, "FI", at(12, 24, 12), SPECIAL) is False
    assert is_open(None, HEL, "FI", at(12, 23, 12), SPECIAL) is None
    assert is_open(None, HEL, "FI", at(12, 31, 11), SPECIAL) is True


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (at(12, 23, 12), at(12, 23, 12)),  # open now: now
        (at(12, 23, 19), at(12, 25, 9)),  # the 24th is closed
        (at(12, 30, 19), at(12, 31, 10)),  # the 31st opens late
        (at(12, 31, 15), datetime(2027, 1, 1, 9, tzinfo=ZONE)),
    ],
)
def test_next_open_skips_closed_days(start: datetime, expected: datetime) -> None:
    found = next_open(WEEK, HEL, "FI", start, SPECIAL)
    assert found == expected


def test_next_open_is_none_when_unknown_or_never() -> None:
    assert next_open(None, HEL, "FI", at(12, 23, 12)) is None
    assert next_open("closed", HEL, "FI", at(12, 23, 12)) is None
    assert next_open("garbage ;;", HEL, "FI", at(12, 23, 12)) is None
    with pytest.raises(ValueError, match="timezone-aware"):
        next_open(WEEK, HEL, "FI", datetime(2026, 12, 23, 12))


@pytest.mark.parametrize("hours", [WEEK, " Mo-Fr 10:00-18:00; PH off ", "24/7", "closed"])
def test_check_hours_keeps_what_the_parser_reads(hours: str) -> None:
    assert check_hours(hours, "input.openingHours") == hours.strip()


@pytest.mark.parametrize(
    "hours", ["", "  ", "Mon-Fri 9-5", "Mo-Fr 25:00-26:00", "Mo 10:00\nTu 11:00", "x" * 501]
)
def test_check_hours_refuses_what_it_cannot_read(hours: str) -> None:
    with pytest.raises(UserInputError) as raised:
        check_hours(hours, "input.openingHours")
    assert raised.value.argument == "input.openingHours"


@pytest.mark.parametrize(
    ("hours", "kept"),
    [
        ("closed", "closed"),
        (" OFF ", "closed"),
        ("10:00-14:00", "10:00-14:00"),
        ("10:00-12:00,13:00-16:00", "10:00-12:00,13:00-16:00"),
    ],
)
def test_check_special_hours(hours: str, kept: str) -> None:
    assert check_special_hours(date(2026, 12, 24), hours, "input.hours") == kept


@pytest.mark.parametrize(
    "hours", ["", "10:00-11:00; Tu off", "10:00-11:00 || closed", "25:00-26:00", "soon", "x" * 201]
)
def test_check_special_hours_refuses(hours: str) -> None:
    with pytest.raises(UserInputError) as raised:
        check_special_hours(date(2026, 12, 24), hours, "input.hours")
    assert raised.value.argument == "input.hours"
