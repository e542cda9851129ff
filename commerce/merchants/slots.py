"""``setDealSlots`` (MANAGER and up), the slot roller, and the public slot list.

``setDealSlots`` replaces a deal's *future* slots with explicit ones (``{startsAt,
capacity}``) and those a weekly schedule generates for the next ``daysAhead`` days in the
zone of the deal's stores (``domain/slots.py``; an explicit slot wins over a generated one
at the same instant). Past slots are history and stay. A slot that holds bookings
(``capacity - remaining > 0``) is never deleted nor shrunk below what it holds: the call is
then ``InvalidInput`` naming those slots, and nothing changes.

The schedule is kept (``deal_slot_plans``) and :func:`roll_slot_plans`, run by the sweeper,
adds the days that come into range, so a schedule never runs dry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.errors import UserInputError
from commerce.identity.principal import Principal
from commerce.merchants import audit
from commerce.merchants.deals import Refusal, locked_deal, not_allowed
from commerce.outcomes import DealOutcome, DealSaved, InvalidInput
from db import slots_sql
from db.database import Database
from db.rows import DealRow, SlotRow
from db.slots_sql import SlotPlanRow
from domain.offer import DealStatus
from domain.slots import Slot, WeeklyRule, generate, parse_clock, rule_from_json

log = logging.getLogger("o2o.slots")
MAX_EXPLICIT = 500
MAX_RULES = 50
MAX_SLOTS = 5000  # future slots one deal may have after a change
MAX_CAPACITY = 10_000
MAX_DAYS_AHEAD = 90
MIN_EVERY = 5
EXPLICIT_HORIZON = timedelta(days=366)
MAX_LIST_DAYS = 92
MAX_LISTED = 500  # slots per deal in one list
ROLL_BATCH = 100


@dataclass(frozen=True, slots=True)
class WeeklyInput:
    weekday: int
    start: str
    end: str
    every_minutes: int
    capacity: int


@dataclass(frozen=True, slots=True)
class SlotsRequest:
    deal_id: int
    slots: tuple[tuple[datetime, int], ...]
    weekly: tuple[WeeklyInput, ...]
    days_ahead: int = 14


async def set_deal_slots(
    database: Database, principal: Principal, request: SlotsRequest, now: datetime
) -> DealOutcome:
    rules = checked_rules(request.weekly)
    explicit = _checked_explicit(request.slots)
    _check_days(request.days_ahead)
    async with database.write() as conn:
        deal = await locked_deal(conn, request.deal_id)
        refusal: Refusal | None = not_allowed(principal, "manage_slots", deal.merchant_id)
        refusal = refusal or _deal_refusal(deal) or _explicit_refusal(explicit, now)
        if refusal is not None:
            return refusal
        zone = await _zone(conn, deal) if rules else None
        if isinstance(zone, InvalidInput):
            return zone
        plan_before = await slots_sql.lock_plan(conn, deal.id)
        existing = await slots_sql.lock_slots_after(conn, deal.id, now)
        wanted, plan = _wanted(deal.id, rules, zone, request.days_ahead, explicit, now)
        refusal = _size_refusal(wanted) or _held_refusal(existing, wanted)
        if refusal is not None:
            return refusal
        await _apply(conn, deal.id, existing, wanted, plan)
        await _audit(conn, principal, deal, (plan_before, existing), (plan, wanted))
    return DealSaved(deal)


def checked_rules(weekly: tuple[WeeklyInput, ...]) -> list[WeeklyRule]:
    """The weekly rules, or ``BAD_USER_INPUT`` naming the malformed field."""
    if len(weekly) > MAX_RULES:
        raise UserInputError("input.weekly", f"at most {MAX_RULES} weekly rules")
    return [_rule(item, f"input.weekly[{index}]") for index, item in enumerate(weekly)]


def _rule(item: WeeklyInput, argument: str) -> WeeklyRule:
    if not 1 <= item.weekday <= 7:
        raise UserInputError(f"{argument}.weekday", "weekday is 1 (Monday) to 7 (Sunday)")
    start, end = parse_clock(item.start), parse_clock(item.end)
    if start is None or start >= 24 * 60:
        raise UserInputError(f"{argument}.start", "start is a local time HH:MM, e.g. 09:30")
    if end is None or end <= start:
        raise UserInputError(f"{argument}.end", "end is a local time HH:MM after start (24:00 ok)")
    if not MIN_EVERY <= item.every_minutes <= 24 * 60:
        raise UserInputError(
            f"{argument}.everyMinutes", f"everyMinutes must be {MIN_EVERY} to 1440"
        )
    _check_capacity(item.capacity, f"{argument}.capacity")
    return WeeklyRule(item.weekday, start, end, item.every_minutes, item.capacity)


def _checked_explicit(slots: tuple[tuple[datetime, int], ...]) -> dict[datetime, int]:
    if len(slots) > MAX_EXPLICIT:
        raise UserInputError("input.slots", f"at most {MAX_EXPLICIT} explicit slots")
    chosen: dict[datetime, int] = {}
    for index, (starts_at, capacity) in enumerate(slots):
        if starts_at.tzinfo is None:
            raise UserInputError(f"input.slots[{index}].startsAt", "startsAt needs a UTC offset")
        _check_capacity(capacity, f"input.slots[{index}].capacity")
        if chosen.get(starts_at, capacity) != capacity:
            raise UserInputError(
                f"input.slots[{index}]", "the same startsAt is given twice with two capacities"
            )
        chosen[starts_at] = capacity
    return chosen


def _check_capacity(capacity: int, argument: str) -> None:
    if not 0 <= capacity <= MAX_CAPACITY:
        raise UserInputError(argument, f"capacity must be 0 to {MAX_CAPACITY}")


def _check_days(days_ahead: int) -> None:
    if not 1 <= days_ahead <= MAX_DAYS_AHEAD:
        raise UserInputError("input.daysAhead", f"daysAhead must be 1 to {MAX_DAYS_AHEAD}")


def _deal_refusal(deal: DealRow) -> InvalidInput | None:
    if deal.status == DealStatus.ENDED.value:
        return InvalidInput("an ended deal takes no bookings", "input.dealId")
    if not deal.requires_booking:
        return InvalidInput(
            "this deal is not booked by time: set requiresBooking with updateDeal first",
            "input.dealId",
        )
    return None


def _explicit_refusal(explicit: dict[datetime, int], now: datetime) -> InvalidInput | None:
    for starts_at in sorted(explicit):
        if starts_at <= now:
            return InvalidInput(f"the slot {starts_at.isoformat()} has started", "input.slots")
        if starts_at > now + EXPLICIT_HORIZON:
            return InvalidInput("slots can be set up to 366 days ahead", "input.slots")
    return None


async def _zone(conn: AsyncConnection, deal: DealRow) -> ZoneInfo | InvalidInput:
    zones = await slots_sql.store_zones_of_deal(conn, deal.id)
    if len(zones) != 1:
        return InvalidInput(
            "a weekly schedule needs the deal's stores in one time zone; give explicit slots",
            "input.weekly",
        )
    return ZoneInfo(zones[0])


def _wanted(
    deal_id: int,
    rules: list[WeeklyRule],
    zone: ZoneInfo | None,
    days_ahead: int,
    explicit: dict[datetime, int],
    now: datetime,
) -> tuple[dict[datetime, int], SlotPlanRow | None]:
    """The future slots the deal should have, and the plan to keep (None: no schedule)."""
    wanted: dict[datetime, int] = {}
    plan = None
    if rules and zone is not None:
        first, last = horizon(zone, days_ahead, now)
        wanted = {slot.starts_at: slot.capacity for slot in upcoming(rules, zone, first, last, now)}
        stored = [rule.as_json() for rule in rules]
        plan = SlotPlanRow(deal_id, zone.key, stored, days_ahead, last)
    wanted.update(explicit)
    return wanted, plan


def horizon(zone: ZoneInfo, days_ahead: int, now: datetime) -> tuple[date, date]:
    """The local dates a plan covers from ``now``: today and ``days_ahead - 1`` more."""
    today = now.astimezone(zone).date()
    return today, today + timedelta(days=days_ahead - 1)


def upcoming(
    rules: list[WeeklyRule], zone: ZoneInfo, first: date, last: date, now: datetime
) -> list[Slot]:
    return [slot for slot in generate(rules, zone, first, last) if slot.starts_at > now]


def _size_refusal(wanted: dict[datetime, int]) -> InvalidInput | None:
    if len(wanted) > MAX_SLOTS:
        return InvalidInput(f"at most {MAX_SLOTS} future slots per deal", "input.weekly")
    return None


def _held_refusal(existing: list[SlotRow], wanted: dict[datetime, int]) -> InvalidInput | None:
    """Slots that hold bookings and would be deleted or shrunk below what they hold."""
    blocked = [
        slot
        for slot in existing
        if slot.capacity > slot.remaining
        and wanted.get(slot.slot_start, -1) < slot.capacity - slot.remaining
    ]
    if not blocked:
        return None
    named = ", ".join(
        f"{slot.slot_start.isoformat()} ({slot.capacity - slot.remaining} booked)"
        for slot in blocked[:10]
    )
    more = f" and {len(blocked) - 10} more" if len(blocked) > 10 else ""
    return InvalidInput(
        f"these slots hold bookings and cannot be deleted or get less capacity: {named}{more}",
        "input.slots",
    )


async def _apply(
    conn: AsyncConnection,
    deal_id: int,
    existing: list[SlotRow],
    wanted: dict[datetime, int],
    plan: SlotPlanRow | None,
) -> None:
    gone = [slot.slot_start for slot in existing if slot.slot_start not in wanted]
    await slots_sql.delete_slots(conn, deal_id, gone)
    await slots_sql.upsert_slots(conn, deal_id, sorted(wanted.items()))
    if plan is None:
        await slots_sql.delete_plan(conn, deal_id)
    else:
        await slots_sql.save_plan(conn, plan)


async def _audit(
    conn: AsyncConnection,
    principal: Principal,
    deal: DealRow,
    before: tuple[SlotPlanRow | None, list[SlotRow]],
    after: tuple[SlotPlanRow | None, dict[datetime, int]],
) -> None:
    plan_before, slots_before = before
    plan_after, slots_after = after
    await audit.record(
        conn,
        principal,
        action="set_deal_slots",
        entity="deal",
        entity_id=deal.id,
        merchant_id=deal.merchant_id,
        before={
            "plan": audit.snapshot(plan_before),
            "slots": {s.slot_start.isoformat(): s.capacity for s in slots_before},
        },
        after={
            "plan": audit.snapshot(plan_after),
            "slots": {
                start.isoformat(): capacity for start, capacity in sorted(slots_after.items())
            },
        },
    )


async def roll_slot_plans(database: Database, now: datetime, batch: int = ROLL_BATCH) -> int:
    """Add the slots of the schedules' days that came into range (one batch of schedules);
    returns how many slots were added.

    One transaction per batch, each plan locked (plans another process holds are skipped),
    so several gateway processes share the work; existing slots are never touched."""
    rolled, added = await _roll_batch(database, now, batch)
    if added:
        log.info("slot roller: %d slots added for %d schedules", added, rolled)
    return added


async def roll_every_plan(database: Database, now: datetime) -> int:
    """:func:`roll_slot_plans` until no schedule is due (the seed's first fill)."""
    total = 0
    while True:
        rolled, added = await _roll_batch(database, now, ROLL_BATCH)
        total += added
        if rolled < ROLL_BATCH:
            return total


async def _roll_batch(database: Database, now: datetime, batch: int) -> tuple[int, int]:
    async with database.write() as conn:
        plans = await slots_sql.plans_due(conn, now, batch)
        added = 0
        for plan in plans:
            added += await roll_plan(conn, plan, now)
    return len(plans), added


async def roll_plan(conn: AsyncConnection, plan: SlotPlanRow, now: datetime) -> int:
    """Generate the plan's missing days up to its horizon (the plan is locked)."""
    zone = ZoneInfo(plan.timezone)
    today, last = horizon(zone, plan.days_ahead, now)
    done = plan.generated_through
    first = today if done is None else max(today, done + timedelta(days=1))
    rules = [rule_from_json(stored) for stored in plan.rules]
    slots = upcoming(rules, zone, first, last, now)
    added = await slots_sql.add_missing_slots(
        conn, plan.deal_id, [(slot.starts_at, slot.capacity) for slot in slots]
    )
    await slots_sql.mark_generated(conn, plan.deal_id, last)
    return added


def listing_window(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """``Deal.slots(from, to)``: from now and 14 days on by default, at most 92 days."""
    if start is not None and start.tzinfo is None:
        raise UserInputError("from", "from needs a UTC offset")
    if end is not None and end.tzinfo is None:
        raise UserInputError("to", "to needs a UTC offset")
    begin = now if start is None else start
    finish = begin + timedelta(days=14) if end is None else end
    if finish <= begin:
        raise UserInputError("to", "to must be after from")
    if finish - begin > timedelta(days=MAX_LIST_DAYS):
        raise UserInputError("to", f"a slot list spans at most {MAX_LIST_DAYS} days")
    return begin, finish
