"""setDealSlots and Deal.slots over HTTP: slots listed with their room and bookable, slots
that hold bookings kept, weekly schedules in the store's zone rolled forward, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from commerce.merchants.slots import roll_slot_plans
from gateway.app import database_from
from gateway.settings import Settings
from schema.ids import to_global_id
from tests.helpers import deal_restored, decode_id
from tests.merchants.conftest import Merchants
from tests.merchants.deal_helpers import SET_SLOTS, SLOTS, DealShop, book, run

HELSINKI = ZoneInfo("Europe/Helsinki")  # the zone of the test stores


def at(days: int, hour: int) -> str:
    """An instant ``days`` from today at ``hour``:00 UTC."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (today + timedelta(days=days, hours=hour)).isoformat()


async def slots_of(shop: DealShop, deal_id: str, **window: str) -> list[dict[str, Any]]:
    data = await shop.customer().data(SLOTS, {"id": deal_id, **window})
    found: list[dict[str, Any]] = data["deal"]["slots"]
    return found


async def test_explicit_slots_are_listed_bookable_and_kept_while_booked(
    deal_shop: DealShop, sql: psycopg.Connection[Any]
) -> None:
    deal = await deal_shop.published(requiresBooking=True, perUserLimit=5)
    first, second = at(2, 10), at(2, 11)
    saved = await run(
        deal_shop.manager,
        SET_SLOTS,
        {
            "dealId": deal["id"],
            "slots": [{"startsAt": first, "capacity": 3}, {"startsAt": second, "capacity": 2}],
        },
    )
    assert saved["__typename"] == "DealSaved", saved
    listed = await slots_of(deal_shop, deal["id"])
    assert [(s["startsAt"], s["capacity"], s["remaining"]) for s in listed] == [
        (first, 3, 3),
        (second, 2, 2),
    ]

    alice = deal_shop.customer()
    booked = await book(alice, deal["id"], "slot", 2, slotStart=first)
    assert booked["__typename"] == "BookDealSuccess", booked
    assert booked["booking"]["slotStart"] == first
    assert [s["remaining"] for s in await slots_of(deal_shop, deal["id"])] == [1, 2]
    full = await book(deal_shop.customer(), deal["id"], "full", 2, slotStart=first)
    assert full["__typename"] == "SoldOut"
    no_slot = await book(alice, deal["id"], "none", 1)
    assert (no_slot["__typename"], no_slot["field"]) == ("InvalidInput", "slotStart")

    # dropping or shrinking the booked slot is refused, naming it; nothing changes
    for slots in ([{"startsAt": second, "capacity": 2}], [{"startsAt": first, "capacity": 1}]):
        refused = await run(deal_shop.manager, SET_SLOTS, {"dealId": deal["id"], "slots": slots})
        assert (refused["__typename"], refused["field"]) == ("InvalidInput", "input.slots")
        assert first in refused["message"] and "(2 booked)" in refused["message"]
    assert [s["remaining"] for s in await slots_of(deal_shop, deal["id"])] == [1, 2]

    # growing it keeps the booked units taken; the unbooked one may go
    grown = await run(
        deal_shop.manager,
        SET_SLOTS,
        {"dealId": deal["id"], "slots": [{"startsAt": first, "capacity": 6}]},
    )
    assert grown["__typename"] == "DealSaved"
    listed = await slots_of(deal_shop, deal["id"])
    assert [(s["startsAt"], s["capacity"], s["remaining"]) for s in listed] == [(first, 6, 4)]
    window = await slots_of(deal_shop, deal["id"], **{"from": at(3, 0), "to": at(4, 0)})
    assert window == []
    held = sql.execute(
        "SELECT count(*) FROM bookings WHERE deal_id = %s AND slot_start IS NOT NULL",
        [decode_id(deal["id"])],
    ).fetchone()
    assert held == (1,)


async def test_a_weekly_schedule_in_the_store_zone_is_kept_and_rolled(
    deal_shop: DealShop, sql: psycopg.Connection[Any], settings: Settings
) -> None:
    deal = await deal_shop.published(requiresBooking=True)
    weekly = [
        {"weekday": day, "start": "10:00", "end": "12:00", "everyMinutes": 60, "capacity": 4}
        for day in range(1, 8)
    ]
    saved = await run(
        deal_shop.owner, SET_SLOTS, {"dealId": deal["id"], "weekly": weekly, "daysAhead": 3}
    )
    assert saved["__typename"] == "DealSaved", saved
    now = datetime.now(UTC)
    listed = await slots_of(deal_shop, deal["id"], **{"to": (now + timedelta(days=10)).isoformat()})
    helsinki = [datetime.fromisoformat(s["startsAt"]).astimezone(HELSINKI) for s in listed]
    assert {(t.hour, t.minute) for t in helsinki} <= {(10, 0), (11, 0)}  # the stores' zone
    assert len({t.date() for t in helsinki}) <= 3 and len(listed) >= 4
    assert all(s["capacity"] == s["remaining"] == 4 for s in listed)
    booked = await book(
        deal_shop.customer(), deal["id"], "weekly", 1, slotStart=listed[-1]["startsAt"]
    )
    assert booked["__typename"] == "BookDealSuccess", booked

    # the roller adds the days that come into range (here: the plan says 5 days now)
    deal_id = decode_id(deal["id"])
    sql.execute("UPDATE deal_slot_plans SET days_ahead = 5 WHERE deal_id = %s", [deal_id])
    database = database_from(settings)
    try:  # the session gateway's sweeper may roll it first: either way, once
        await roll_slot_plans(database, datetime.now(UTC))
        await roll_slot_plans(database, datetime.now(UTC))
    finally:
        await database.dispose()
    more = await slots_of(deal_shop, deal["id"], **{"to": (now + timedelta(days=10)).isoformat()})
    assert len(more) == len(listed) + 4  # two more days, two slots each
    through = sql.execute(
        "SELECT generated_through - (now() AT TIME ZONE timezone)::date FROM deal_slot_plans"
        " WHERE deal_id = %s",
        [deal_id],
    ).fetchone()
    assert through == (4,)
    assert [s["remaining"] for s in more if s["startsAt"] == listed[-1]["startsAt"]] == [3]

    cleared = await run(deal_shop.owner, SET_SLOTS, {"dealId": deal["id"]})  # neither: clear
    assert (cleared["__typename"], cleared["field"]) == ("InvalidInput", "input.slots")
    plan = sql.execute(
        "SELECT timezone, days_ahead FROM deal_slot_plans WHERE deal_id = %s", [deal_id]
    ).fetchone()
    assert plan == ("Europe/Helsinki", 5)  # the refused call kept the plan


async def test_set_deal_slots_refusals(deal_shop: DealShop, merchants: Merchants) -> None:
    timed = await deal_shop.published(requiresBooking=True)
    untimed = await deal_shop.published()
    one = [{"startsAt": at(1, 9), "capacity": 1}]
    not_timed = await run(deal_shop.owner, SET_SLOTS, {"dealId": untimed["id"], "slots": one})
    assert (not_timed["__typename"], not_timed["field"]) == ("InvalidInput", "input.dealId")
    past = await run(
        deal_shop.owner,
        SET_SLOTS,
        {"dealId": timed["id"], "slots": [{"startsAt": at(-1, 9), "capacity": 1}]},
    )
    assert (past["__typename"], past["field"]) == ("InvalidInput", "input.slots")
    for who in (deal_shop.cashier, (await merchants()).staff("owner")):
        refused = await run(who, SET_SLOTS, {"dealId": timed["id"], "slots": one})
        assert refused["__typename"] == "NotAllowed", refused
    malformed: dict[str, dict[str, Any]] = {
        "input.weekly[0].start": {"weekly": [_weekly(start="9:00")]},
        "input.weekly[0].weekday": {"weekly": [_weekly(weekday=8)]},
        "input.slots[0].capacity": {"slots": [{"startsAt": at(1, 9), "capacity": -1}]},
        "input.slots[0].startsAt": {"slots": [{"startsAt": "2030-01-01T10:00:00", "capacity": 1}]},
        "input.daysAhead": {"weekly": [_weekly()], "daysAhead": 91},
    }
    for argument, values in malformed.items():
        error = await deal_shop.owner.error(SET_SLOTS, {"input": {"dealId": timed["id"], **values}})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}, error
    window = await deal_shop.customer().error(
        SLOTS, {"id": timed["id"], "from": at(0, 0), "to": at(100, 0)}
    )
    assert window["extensions"] == {"code": "BAD_USER_INPUT", "argument": "to"}


def _weekly(**fields: Any) -> dict[str, Any]:
    return {
        "weekday": 1,
        "start": "10:00",
        "end": "12:00",
        "everyMinutes": 30,
        "capacity": 2,
        **fields,
    }


async def test_a_seeded_deal_booked_by_time_can_be_booked_at_a_listed_slot(
    deal_shop: DealShop, sql: psycopg.Connection[Any]
) -> None:
    """The demo end to end: a seeded deal's slots are listed and one of them is bookable."""
    row = sql.execute(
        "SELECT d.id FROM deals d WHERE d.requires_booking AND d.status = 'PUBLISHED'"
        " AND d.valid_from <= now() AND d.valid_until > now()"
        " AND coalesce(d.remaining_quantity, 1) > 0 AND d.external_key LIKE 'osm:%'"
        " AND (SELECT count(*) FROM deal_stores ds WHERE ds.deal_id = d.id) = 1"
        " ORDER BY d.id LIMIT 1"
    ).fetchone()
    assert row is not None
    deal_id = to_global_id("Deal", row[0])
    with deal_restored(sql, row[0]):
        listed = await slots_of(deal_shop, deal_id)
        assert listed and all(s["remaining"] > 0 for s in listed)
        slot = listed[0]
        booked = await book(deal_shop.customer(), deal_id, "demo", 1, slotStart=slot["startsAt"])
        try:
            assert booked["__typename"] == "BookDealSuccess", booked
            after = {s["startsAt"]: s["remaining"] for s in await slots_of(deal_shop, deal_id)}
            assert after[slot["startsAt"]] == slot["remaining"] - 1
        finally:
            if booked["__typename"] == "BookDealSuccess":
                booking_id = decode_id(booked["booking"]["id"])
                sql.execute(
                    "UPDATE deal_slots SET remaining = remaining + 1"
                    " WHERE deal_id = %s AND slot_start = %s",
                    [row[0], datetime.fromisoformat(slot["startsAt"])],
                )
                sql.execute("DELETE FROM bookings WHERE id = %s", [booking_id])
