"""``setSpecialHours``: closed, or other hours, on one date of a store (MANAGER and up)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from commerce.merchants.stores import set_special_hours
from schema.caller import int_id
from schema.merchants.stores import StoreResult, store_result
from schema.types import ContextInfo


@strawberry.input(description="Hours of a store on one date (a holiday), instead of its week.")
class SetSpecialHoursInput:
    store_id: strawberry.ID = strawberry.field(description="The store.")
    date: date = strawberry.field(description="The day in the store's time zone, from today on.")
    hours: str = strawberry.field(
        description="'closed', or the OSM hours of that day, e.g. '10:00-14:00'."
    )


async def resolve_set_special_hours(
    info: ContextInfo,
    input: Annotated[
        SetSpecialHoursInput, strawberry.argument(description="The store, the date and its hours.")
    ],
) -> StoreResult:
    principal = info.context.require_viewer()
    store_id = int_id(input.store_id, "Store", "input.storeId")
    outcome = await set_special_hours(
        info.context.database, principal, store_id, input.date, input.hours, info.context.now()
    )
    return store_result(info, outcome)
