"""Opening hours: OSM ``opening_hours`` evaluated in the store's own IANA time zone.

One function, :func:`open_state`, answers every question about hours (``Store.isOpenNow``,
``Store.openAt``, the ``openNow``/``openAt`` filters). Parsing is done by ``opening-hours-py``
(a Rust implementation of the OSM specification) and cached per expression; an expression it
cannot parse means "hours unknown", never an error.
"""

from __future__ import annotations

import enum
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from opening_hours import OpeningHours


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


def open_state(expression: str | None, timezone: str, country: str, at: datetime) -> HoursState:
    """Whether a store with these hours is open at the instant ``at`` (which must be aware).

    The instant is converted to the store's zone first, so summer-time changes and spans past
    midnight (``Fr 18:00-03:00``) are judged on the store's wall clock.
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    if not expression or not expression.strip():
        return HoursState.UNKNOWN
    hours = _parsed(expression.strip(), timezone, country.upper())
    if hours is None:
        return HoursState.UNKNOWN
    local = at.astimezone(ZoneInfo(timezone))
    try:
        state, _comment = hours.state(local)
    except Exception:  # evaluation errors (e.g. unsupported holiday data) mean "unknown"
        return HoursState.UNKNOWN
    name = str(getattr(state, "name", state)).upper()
    if name == "OPEN":
        return HoursState.OPEN
    if name == "CLOSED":
        return HoursState.CLOSED
    return HoursState.UNKNOWN


def is_open(expression: str | None, timezone: str, country: str, at: datetime) -> bool | None:
    """``True``/``False`` when known, ``None`` when the hours are missing or unparseable."""
    state = open_state(expression, timezone, country, at)
    return None if state is HoursState.UNKNOWN else state is HoursState.OPEN
