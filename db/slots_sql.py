"""Time slots of deals (``deal_slots``) and their weekly plans (``deal_slot_plans``).

A slot's held or sold units are ``capacity - remaining``: ``bookDeal`` takes from
``remaining`` and a released booking gives back (``db/bookings_sql.py``), so changing a
capacity keeps those units taken. Lock order, for every writer: the deal's row, then its
plan, then its slots; the slot roller (which never locks the deal) takes plan then slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog_sql import any_of
from db.rows import SlotRow, row_to
from db.tables import deal_slot_plans, deal_slots, deal_stores, deals, stores

SLOT_COLUMNS = (
    deal_slots.c.deal_id,
    deal_slots.c.slot_start,
    deal_slots.c.capacity,
    deal_slots.c.remaining,
)


@dataclass(frozen=True, slots=True)
class SlotPlanRow:
    deal_id: int
    timezone: str
    rules: list[dict[str, Any]]
    days_ahead: int
    generated_through: date | None


PLAN_COLUMNS = tuple(deal_slot_plans.c[name] for name in SlotPlanRow.__dataclass_fields__)


async def lock_plan(conn: AsyncConnection, deal_id: int) -> SlotPlanRow | None:
    result = await conn.execute(
        select(*PLAN_COLUMNS).where(deal_slot_plans.c.deal_id == deal_id).with_for_update()
    )
    row = result.mappings().first()
    return None if row is None else row_to(SlotPlanRow, row)


async def save_plan(conn: AsyncConnection, plan: SlotPlanRow) -> None:
    statement = insert(deal_slot_plans).values(
        deal_id=plan.deal_id,
        timezone=plan.timezone,
        rules=plan.rules,
        days_ahead=plan.days_ahead,
        generated_through=plan.generated_through,
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[deal_slot_plans.c.deal_id],
            set_={
                name: statement.excluded[name]
                for name in ("timezone", "rules", "days_ahead", "generated_through")
            },
        )
    )


async def delete_plan(conn: AsyncConnection, deal_id: int) -> None:
    await conn.execute(delete(deal_slot_plans).where(deal_slot_plans.c.deal_id == deal_id))


async def lock_slots_after(conn: AsyncConnection, deal_id: int, after: datetime) -> list[SlotRow]:
    """The deal's slots starting after ``after``, locked, by start."""
    result = await conn.execute(
        select(*SLOT_COLUMNS)
        .where(deal_slots.c.deal_id == deal_id, deal_slots.c.slot_start > after)
        .order_by(deal_slots.c.slot_start)
        .with_for_update()
    )
    return [row_to(SlotRow, row) for row in result.mappings()]


async def delete_slots(conn: AsyncConnection, deal_id: int, starts: Sequence[datetime]) -> None:
    """Delete the slots starting at ``starts`` that hold no units (none of them should)."""
    if not starts:
        return
    await conn.execute(
        delete(deal_slots).where(
            deal_slots.c.deal_id == deal_id,
            any_of(deal_slots.c.slot_start, starts),
            deal_slots.c.remaining == deal_slots.c.capacity,
        )
    )


async def upsert_slots(
    conn: AsyncConnection, deal_id: int, slots: Sequence[tuple[datetime, int]]
) -> None:
    """Create the slots, or set the capacity of existing ones keeping their taken units."""
    if not slots:
        return
    statement = insert(deal_slots)
    taken = deal_slots.c.capacity - deal_slots.c.remaining
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[deal_slots.c.deal_id, deal_slots.c.slot_start],
            set_={
                "capacity": statement.excluded.capacity,
                "remaining": statement.excluded.capacity - taken,
            },
        ),
        [
            {"deal_id": deal_id, "slot_start": start, "capacity": capacity, "remaining": capacity}
            for start, capacity in slots
        ],
    )


async def add_missing_slots(
    conn: AsyncConnection, deal_id: int, slots: Sequence[tuple[datetime, int]]
) -> int:
    """Create the slots that do not exist yet (existing ones are left as they are)."""
    if not slots:
        return 0
    result = await conn.execute(
        insert(deal_slots)
        .on_conflict_do_nothing()
        .values(
            [{"deal_id": deal_id, "slot_start": s, "capacity": c, "remaining": c} for s, c in slots]
        )
        .returning(deal_slots.c.slot_start)  # rowcount is -1 for a multi-row insert here
    )
    return len(result.all())


async def plans_due(conn: AsyncConnection, now: datetime, limit: int) -> list[SlotPlanRow]:
    """Plans of live deals whose slots do not reach ``days_ahead`` days yet (local dates),
    locked; plans another roller holds are skipped."""
    local_today = func.date(func.timezone(deal_slot_plans.c.timezone, now))
    horizon = local_today + deal_slot_plans.c.days_ahead - 1
    result = await conn.execute(
        select(*PLAN_COLUMNS)
        .join(deals, deals.c.id == deal_slot_plans.c.deal_id)
        .where(
            deals.c.status != "ENDED",
            deals.c.valid_until > now,
            func.coalesce(deal_slot_plans.c.generated_through < horizon, True),
        )
        .order_by(deal_slot_plans.c.deal_id)
        .limit(limit)
        .with_for_update(of=deal_slot_plans, skip_locked=True)
    )
    return [row_to(SlotPlanRow, row) for row in result.mappings()]


async def mark_generated(conn: AsyncConnection, deal_id: int, through: date) -> None:
    await conn.execute(
        update(deal_slot_plans)
        .where(deal_slot_plans.c.deal_id == deal_id)
        .values(generated_through=through)
    )


async def store_zones_of_deal(conn: AsyncConnection, deal_id: int) -> list[str]:
    result = await conn.execute(
        select(stores.c.timezone)
        .distinct()
        .join(deal_stores, deal_stores.c.store_id == stores.c.id)
        .where(deal_stores.c.deal_id == deal_id)
        .order_by(stores.c.timezone)
    )
    return list(result.scalars())


async def slots_of_deals(
    conn: AsyncConnection, deal_ids: Sequence[int], start: datetime, end: datetime, limit: int
) -> dict[int, list[SlotRow]]:
    """Each deal's first ``limit`` slots starting in ``[start, end)``, in one statement."""
    numbered = (
        select(
            *SLOT_COLUMNS,
            func.row_number()
            .over(partition_by=deal_slots.c.deal_id, order_by=deal_slots.c.slot_start)
            .label("position"),
        )
        .where(
            and_(
                any_of(deal_slots.c.deal_id, deal_ids),
                deal_slots.c.slot_start >= start,
                deal_slots.c.slot_start < end,
            )
        )
        .subquery()
    )
    result = await conn.execute(
        select(numbered)
        .where(numbered.c.position <= limit)
        .order_by(numbered.c.deal_id, numbered.c.slot_start)
    )
    grouped: dict[int, list[SlotRow]] = {deal_id: [] for deal_id in deal_ids}
    for row in result.mappings():
        grouped[row["deal_id"]].append(row_to(SlotRow, row))
    return grouped
