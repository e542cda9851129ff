"""Opening hours: OSM ``opening_hours`` evaluated in the store's own IANA time zone.

One function, :func:`open_state`, answers every question about hours (``Store.isOpenNow``,
``Store.openAt``, the ``openNow``/``openAt`` filters); :func:`next_open` answers
``Store.nextOpenAt``. Parsing is done by ``opening-hours-py`` (a Rust implementation of the
OSM specification) and cached per expression; an expression it cannot parse means "hours
unknown", never an error when reading. Writes check hours with the same parser
(:func:`check_hours`, :func:`check_special_hours`), so a stored expression always parses.

Special hours (holidays: closed on a date, or other hours on that date) come with the store
row as text, one ``YYYY-MM-DD hours`` per line (``db.catalog_sql.special_hours_of``). They
become OSM rules with a date selector appended to the regular hours, so the parser that
evaluates the week evaluates them too: a later rule replaces the earlier ones on the days it
names (``Mo-Su 09:00-18:00; 2026 Dec 24 off``). A store without regular hours is unknown on
other days (``24/7 unknown; ...``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from opening_hours import OpeningHours

from commerce.errors import UserInputError

MAX_HOURS_LENGTH = 500
MAX_SPECIAL_LENGTH = 200
CLOSED = "closed"
# how far ahead nextOpenAt looks, and how many state changes it follows
NEXT_OPEN_HORIZON = timedelta(days=366)
MAX_CHANGES = 200
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_UNKNOWN_WEEK = "24/7 unknown"


class HoursState(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"
    UNKNOWN = "unknown"


@lru_cache(maxsize=4096)
def _parsed(expression: str, timezone: str, country: str) -> OpeningHours | None:
    zone = ZoneInfo(timezone)
    for holidays_of in (country or None, None):  # an unknown country still has weekly hours
        try:
            return OpeningHours(expression, timezone=zone, country=holidays_of)
        except Exception:  # the library raises several types; any of them means "unparseable"
            continue
    return None


def date_selector(day: date) -> str:
    """The OSM date selector of one day: ``2026 Dec 24``."""
    return f"{day.year} {_MONTHS[day.month - 1]} {day.day:02d}"


def _special_rule(day: date, hours: str) -> str:
    value = hours.strip()
    return f"{date_selector(day)} {'off' if value.lower() == CLOSED else value}"


def parse_special(special: str | None) -> list[tuple[date, str]]:
    """The special days carried by a store row (``YYYY-MM-DD hours`` per line), by date."""
    days = []
    for line in (special or "").splitlines():
        day, _, hours = line.strip().partition(" ")
        if day and hours:
            days.append((date.fromisoformat(day), hours.strip()))
    return sorted(days)


def with_special(expression: str | None, special: str | None) -> str | None:
    """The regular hours with the special days appended as date rules (the expression as it
    is when there are none)."""
    days = parse_special(special)
    if not days:
        return expression
    base = (expression or "").strip() or _UNKNOWN_WEEK
    return "; ".join([base, *(_special_rule(day, hours) for day, hours in days)])


def open_state(
    expression: str | None,
    timezone: str,
    country: str,
    at: datetime,
    special: str | None = None,
) -> HoursState:
    """Whether a store with these hours (and special days) is open at the instant ``at``
    (which must be aware).

    The instant is converted to the store's zone first, so summer-time changes and spans past
    midnight (``Fr 18:00-03:00``) are judged on the store's wall clock.
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    hours = _hours(expression, timezone, country, special)
    if hours is None:
        return HoursState.UNKNOWN
    try:
        state, _comment = hours.state(at.astimezone(ZoneInfo(timezone)))
    except Exception:  # evaluation errors (e.g. unsupported holiday data) mean "unknown"
        return HoursState.UNKNOWN
    return _state(state)


def _hours(
    expression: str | None, timezone: str, country: str, special: str | None
) -> OpeningHours | None:
    full = with_special(expression, special)
    if not full or not full.strip():
        return None
    return _parsed(full.strip(), timezone, country.upper())


def _state(state: object) -> HoursState:
    name = str(getattr(state, "name", state)).upper()
    if name == "OPEN":
        return HoursState.OPEN
    if name == "CLOSED":
        return HoursState.CLOSED
    return HoursState.UNKNOWN


def is_open(
    expression: str | None,
    timezone: str,
    country: str,
    at: datetime,
    special: str | None = None,
) -> bool | None:
    """``True``/``False`` when known, ``None`` when the hours are missing or unparseable."""
    state = open_state(expression, timezone, country, at, special)
    return None if state is HoursState.UNKNOWN else state is HoursState.OPEN


def next_open(
    expression: str | None,
    timezone: str,
    country: str,
    at: datetime,
    special: str | None = None,
) -> datetime | None:
    """The first instant at or after ``at`` when the store is open (``at`` itself when it is
    open then); None when the hours are unknown or it does not open within a year."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    hours = _hours(expression, timezone, country, special)
    if hours is None:
        return None
    zone = ZoneInfo(timezone)
    moment = at.astimezone(zone)
    horizon = moment + NEXT_OPEN_HORIZON
    try:
        for _ in range(MAX_CHANGES):
            if _state(hours.state(moment)[0]) is HoursState.OPEN:
                return moment
            change = hours.next_change(moment)
            if change is None or change <= moment or change > horizon:
                return None
            moment = _aware(change, zone)
    except Exception:  # evaluation errors mean "unknown"
        return None
    return None


def _aware(value: datetime, zone: ZoneInfo) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def check_hours(expression: str, argument: str) -> str:
    """Regular hours as a store will keep them (trimmed), or ``BAD_USER_INPUT`` naming
    ``argument`` when the parser that evaluates them cannot read them."""
    value = expression.strip()
    if not value:
        raise UserInputError(argument, "openingHours must not be empty; leave it out instead")
    if len(value) > MAX_HOURS_LENGTH:
        raise UserInputError(
            argument, f"openingHours must be at most {MAX_HOURS_LENGTH} characters"
        )
    if "\n" in value or _parsed(value, "UTC", "") is None:
        raise UserInputError(
            argument,
            f"openingHours is not valid OSM opening_hours syntax: {value!r}"
            " (e.g. 'Mo-Fr 09:00-18:00; Sa 10:00-14:00')",
        )
    return value


def check_special_hours(day: date, hours: str, argument: str) -> str:
    """Special hours for one date as they will be kept: ``closed``, or the hours of that one
    day in OSM syntax (``10:00-14:00``, ``10:00-12:00,13:00-16:00``); ``BAD_USER_INPUT``
    naming ``argument`` otherwise."""
    value = hours.strip()
    if value.lower() in (CLOSED, "off"):
        return CLOSED
    if not value or len(value) > MAX_SPECIAL_LENGTH:
        raise UserInputError(
            argument, f"hours must be 'closed' or OSM hours of 1 to {MAX_SPECIAL_LENGTH} characters"
        )
    if any(mark in value for mark in (";", "||", "\n")):
        raise UserInputError(
            argument, "hours must be the hours of that one day, e.g. 10:00-14:00 (no ';' or '||')"
        )
    if _parsed(_special_rule(day, value), "UTC", "") is None:
        raise UserInputError(
            argument,
            f"hours must be 'closed' or OSM hours such as 10:00-14:00; {value!r} is not valid",
        )
    return value
