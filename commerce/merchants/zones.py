"""Time zones of stores: an IANA name checked by ``zoneinfo``, or derived from the location
by ``timezonefinder`` (maintained boundary data, not a table of ours); the country for
holiday rules comes from the IANA ``zone.tab`` of the same tz database."""

from __future__ import annotations

import threading
import zoneinfo
from functools import lru_cache
from importlib import resources
from pathlib import Path

from timezonefinder import TimezoneFinder

from commerce.errors import UserInputError

MAX_ZONE_LENGTH = 64
UNKNOWN_COUNTRY = "ZZ"  # ISO 3166 "unknown": weekly hours still work, holidays do not

_finder: TimezoneFinder | None = None
_finder_lock = threading.Lock()


def check_zone(name: str, argument: str) -> str:
    """An IANA zone name as ``zoneinfo`` knows it; ``BAD_USER_INPUT`` naming ``argument``."""
    value = name.strip()
    if not value or len(value) > MAX_ZONE_LENGTH or value != name or "\\" in value:
        raise UserInputError(argument, "timeZone must be an IANA zone such as Europe/Helsinki")
    if value not in _known_zones():
        raise UserInputError(
            argument, f"timeZone {value!r} is not an IANA zone (e.g. Europe/Helsinki)"
        )
    return value


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    # files of the tz database that are not zones a place can be in
    return frozenset(zoneinfo.available_timezones()) - {"localtime", "posixrules", "Factory"}


def zone_at(lat: float, lng: float) -> str:
    """The IANA zone of a point (at sea: the nautical ``Etc/GMT±N`` zone)."""
    global _finder
    with _finder_lock:  # the finder loads its data once, on first use
        if _finder is None:
            _finder = TimezoneFinder()
        finder = _finder
    name = finder.timezone_at(lng=lng, lat=lat)
    return name if name else "UTC"


def country_of_zone(zone: str) -> str:
    """The ISO country whose zone this is (``zone.tab``), else ``ZZ``."""
    return _zone_countries().get(zone, UNKNOWN_COUNTRY)


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    text = _zone_tab()
    countries: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) >= 3:
            countries.setdefault(fields[2].strip(), fields[0].strip())
    return countries


def _zone_tab() -> str:
    for base in zoneinfo.TZPATH:
        path = Path(base) / "zone.tab"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:  # the tzdata package, where the system has no tz database
        return resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return ""
