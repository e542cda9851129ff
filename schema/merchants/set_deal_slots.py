"""``setDealSlots``: the time slots of a deal booked by time (MANAGER and up), explicit or
from a weekly schedule kept rolling ``daysAhead`` days ahead."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from commerce.errors import UserInputError
from commerce.merchants.slots import MAX_EXPLICIT, MAX_RULES, SlotsRequest, WeeklyInput
from commerce.merchants.slots import set_deal_slots as set_slots
from schema.caller import int_id
from schema.merchants.deals import DealResult, deal_result
from schema.types import ContextInfo


@strawberry.input(description="One slot at a given instant.")
class DealSlotInput:
    starts_at: datetime = strawberry.field(description="When it starts (with a UTC offset).")
    capacity: int = strawberry.field(description="Units it takes (0 to 10 000).")


@strawberry.input(
    description="A weekly rule in the stores' local time: on weekday, a slot every everyMinutes"
    " from start until before end."
)
class WeeklySlotsInput:
    weekday: int = strawberry.field(description="ISO weekday: 1 = Monday ... 7 = Sunday.")
    start: str = strawberry.field(description="First start, local HH:MM (e.g. 10:00).")
    end: str = strawberry.field(description="No slot starts at or after this (HH:MM, 24:00).")
    every_minutes: int = strawberry.field(description="Minutes between starts (5 to 1440).")
    capacity: int = strawberry.field(description="Units each slot takes (0 to 10 000).")


@strawberry.input(
    description="The deal's future slots, all of them: explicit slots and a weekly schedule"
    " (either or both; neither clears them). Slots that hold bookings must stay."
)
class SetDealSlotsInput:
    deal_id: strawberry.ID = strawberry.field(description="A deal with requiresBooking.")
    slots: list[DealSlotInput] | None = strawberry.field(
        default=None, description="Explicit slots (up to 500)."
    )
    weekly: list[WeeklySlotsInput] | None = strawberry.field(
        default=None,
        description="Weekly rules (up to 50), in the time zone of the deal's stores; kept and"
        " rolled forward every day.",
    )
    days_ahead: int = strawberry.field(
        default=14, description="How many days ahead the weekly rules make slots (1 to 90)."
    )


async def resolve_set_deal_slots(
    info: ContextInfo,
    input: Annotated[
        SetDealSlotsInput, strawberry.argument(description="The deal and all of its future slots.")
    ],
) -> DealResult:
    principal = info.context.require_viewer()
    slots, weekly = input.slots or [], input.weekly or []
    if len(slots) > MAX_EXPLICIT:
        raise UserInputError("input.slots", f"at most {MAX_EXPLICIT} explicit slots")
    if len(weekly) > MAX_RULES:
        raise UserInputError("input.weekly", f"at most {MAX_RULES} weekly rules")
    request = SlotsRequest(
        deal_id=int_id(input.deal_id, "Deal", "input.dealId"),
        slots=tuple((slot.starts_at, slot.capacity) for slot in slots),
        weekly=tuple(
            WeeklyInput(rule.weekday, rule.start, rule.end, rule.every_minutes, rule.capacity)
            for rule in weekly
        ),
        days_ahead=input.days_ahead,
    )
    outcome = await set_slots(info.context.database, principal, request, info.context.now())
    return deal_result(info, outcome)
