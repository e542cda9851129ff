"""Weekly slot schedules: the one definition of which instants a schedule generates.

A :class:`WeeklyRule` says "on ``weekday`` (ISO: 1 = Monday ... 7 = Sunday), a slot starts
every ``every_minutes`` from ``start`` until before ``end``, each with room for ``capacity``",
in wall-clock time of the store's IANA zone. :func:`generate` turns rules into UTC instants
for a range of local dates:

- a wall time that does not exist that day (the hour skipped when clocks go forward) gives
  no slot;
- a wall time that happens twice (the hour repeated when clocks go back) gives one slot, at
  its first occurrence;
- two rules that produce the same instant give one slot, with the larger capacity.

Pure functions, no I/O: ``setDealSlots``, the slot roller and the seed all call them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    weekday: int  # ISO weekday: 1 = Monday ... 7 = Sunday
    start_minute: int  # minutes after local midnight, 0 .. 1439
    end_minute: int  # exclusive, start_minute < end_minute <= 1440
    every_minutes: int
    capacity: int

    def starts(self) -> range:
        """Minutes after local midnight at which this rule's slots start."""
        return range(self.start_minute, self.end_minute, self.every_minutes)

    def as_json(self) -> dict[str, int | str]:
        """The rule as stored and shown: wall times as ``HH:MM``."""
        return {
            "weekday": self.weekday,
            "start": clock_text(self.start_minute),
            "end": clock_text(self.end_minute),
            "everyMinutes": self.every_minutes,
            "capacity": self.capacity,
        }


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    starts_at: datetime  # aware, UTC
    capacity: int


def parse_clock(text: str) -> int | None:
    """Minutes after midnight of ``HH:MM`` (``24:00`` is the end of the day); None when
    malformed."""
    hours, sep, minutes = text.partition(":")
    if sep != ":" or len(hours) != 2 or len(minutes) != 2:
        return None
    if not (hours.isdigit() and minutes.isdigit()):
        return None
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > MINUTES_PER_DAY:
        return None
    return value


def clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def rule_from_json(stored: dict[str, int | str]) -> WeeklyRule:
    """A rule written by :meth:`WeeklyRule.as_json` (trusted: it was checked when saved)."""
    start = parse_clock(str(stored["start"]))
    end = parse_clock(str(stored["end"]))
    if start is None or end is None:
        raise ValueError(f"stored slot rule has malformed times: {stored}")
    return WeeklyRule(
        weekday=int(stored["weekday"]),
        start_minute=start,
        end_minute=end,
        every_minutes=int(stored["everyMinutes"]),
        capacity=int(stored["capacity"]),
    )


def local_instant(day: date, minute: int, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of wall time ``minute`` on ``day`` in ``zone``; None when that wall
    time does not exist (clocks went forward over it). Repeated wall times take the first."""
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)  # fold=0
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
        return None  # a gap: the wall time was normalised to another one
    return instant


def generate(rules: list[WeeklyRule], zone: ZoneInfo, first: date, last: date) -> list[Slot]:
    """The slots of ``rules`` on the local dates ``first`` .. ``last`` (inclusive), by time."""
    capacities: dict[datetime, int] = {}
    day = first
    while day <= last:
        for rule in rules:
            if rule.weekday != day.isoweekday():
                continue
            for minute in rule.starts():
                instant = local_instant(day, minute, zone)
                if instant is not None:
                    capacities[instant] = max(capacities.get(instant, 0), rule.capacity)
        day += timedelta(days=1)
    return sorted(Slot(instant, capacity) for instant, capacity in capacities.items())
