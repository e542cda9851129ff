"""setSpecialHours over HTTP: closed or other hours on one date, honoured by isOpenNow,
openAt, nextOpenAt and by the openNow/openAt filters of nearbyDeals, dealsInView and
searchDeals (one evaluator: commerce/hours.py with the special days appended as rules)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from commerce.discovery.indexing import publish_pending
from gateway.app import database_from, search_index_from
from gateway.settings import Settings
from schema.ids import to_global_id
from tests.helpers import decode_id
from tests.merchants.conftest import KERGUELEN, SET_SPECIAL_HOURS, Merchant, Merchants

HEL = ZoneInfo("Europe/Helsinki")
STORE = """query($id: ID!, $at: DateTime!, $after: DateTime) {
  store(id: $id) { isOpenNow openAt(at: $at) nextOpenAt(after: $after) version
                   specialHours { date hours } }
}"""
NEARBY = """query($near: GeoPointInput!, $filter: DealFilter) {
  nearbyDeals(near: $near, radiusMeters: 500, filter: $filter) { edges { node { id } } }
}"""
IN_VIEW = """query($bbox: BoundingBoxInput!, $filter: DealFilter) {
  dealsInView(bbox: $bbox, zoom: 16, filter: $filter) { deals { id } }
}"""
SEARCH = """query($q: String!, $filter: DealFilter) {
  searchDeals(query: $q, filter: $filter) { edges { node { id } } }
}"""
BBOX = {
    "west": KERGUELEN["lng"] - 0.01,
    "east": KERGUELEN["lng"] + 0.01,
    "south": KERGUELEN["lat"] - 0.01,
    "north": KERGUELEN["lat"] + 0.01,
}


def local(day: date, hour: int, minute: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=HEL).isoformat()


@dataclass
class OpenShop:
    merchant: Merchant
    store: str  # global ID
    deal: str
    word: str  # a word only this deal's title has

    def special(self, day: date, hours: str) -> dict[str, Any]:
        return {"input": {"storeId": self.store, "date": day.isoformat(), "hours": hours}}


def today() -> date:
    return datetime.now(HEL).date()


@pytest.fixture
async def shop(merchants: Merchants, sql: psycopg.Connection[Any]) -> OpenShop:
    """A Kerguelen store on Helsinki time, open every day 09:00-18:00, with one deal."""
    merchant = await merchants()
    store = await merchant.store(openingHours="Mo-Su 09:00-18:00")
    word = "quokka" + uuid.uuid4().hex[:6]
    row = sql.execute(
        "INSERT INTO deals (merchant_id, external_key, title, price, currency, valid_from,"
        " valid_until) VALUES (%s, %s, %s, 10, 'EUR', now() - interval '1 day',"
        " now() + interval '30 days') RETURNING id",
        [merchant.id, f"test:{word}", f"Harbour {word} lunch"],
    ).fetchone()
    assert row is not None
    sql.execute("INSERT INTO deal_stores VALUES (%s, %s)", [row[0], decode_id(store["id"])])
    return OpenShop(merchant, store["id"], to_global_id("Deal", row[0]), word)


async def test_special_hours_change_open_at_and_next_open_at(shop: OpenShop) -> None:
    manager = shop.merchant.staff("manager")
    day = today() + timedelta(days=10)
    result = await manager.data(SET_SPECIAL_HOURS, shop.special(day, "10:00-11:00"))
    saved = result["setSpecialHours"]
    assert saved["__typename"] == "StoreSaved"
    assert saved["store"]["version"] == 2
    assert saved["store"]["specialHours"] == [{"date": day.isoformat(), "hours": "10:00-11:00"}]
    closed = await manager.data(SET_SPECIAL_HOURS, shop.special(day + timedelta(1), "closed"))
    assert closed["setSpecialHours"]["store"]["specialHours"][-1]["hours"] == "closed"

    async def store(at: str, after: str | None = None) -> dict[str, Any]:
        data = await manager.data(STORE, {"id": shop.store, "at": at, "after": after})
        result: dict[str, Any] = data["store"]
        return result

    # the day before: the regular week
    assert (await store(local(day - timedelta(1), 12)))["openAt"] is True
    # the special day: only 10:00-11:00
    assert (await store(local(day, 10, 30)))["openAt"] is True
    assert (await store(local(day, 12)))["openAt"] is False
    assert (await store(local(day, 8), local(day, 8)))["nextOpenAt"] == local(day, 10)
    # after 11:00 the next day is closed, so the store next opens the day after at 09:00
    after = await store(local(day + timedelta(1), 12), local(day, 11, 30))
    assert after["openAt"] is False
    assert after["nextOpenAt"] == local(day + timedelta(2), 9)
    assert (await store(local(day, 10, 15), local(day, 10, 15)))["nextOpenAt"] == local(day, 10, 15)
    # set again: the same date is replaced, not added
    again = await manager.data(SET_SPECIAL_HOURS, shop.special(day, "14:00-16:00"))
    listed = again["setSpecialHours"]["store"]["specialHours"]
    assert [entry["date"] for entry in listed] == [
        day.isoformat(),
        (day + timedelta(1)).isoformat(),
    ]
    assert (await store(local(day, 15)))["openAt"] is True
    assert (await store(local(day, 10, 30)))["openAt"] is False


async def test_closed_today_is_not_open_now_anywhere(
    shop: OpenShop, merchants: Merchants, sql: psycopg.Connection[Any]
) -> None:
    sql.execute("UPDATE stores SET opening_hours = '24/7' WHERE id = %s", [decode_id(shop.store)])
    owner = shop.merchant.staff("owner")
    now = datetime.now(HEL).isoformat()
    before = await owner.data(STORE, {"id": shop.store, "at": now})
    assert before["store"]["isOpenNow"] is True
    open_now = {"openNow": True}
    assert await _found(owner, shop, open_now) == (True, True)

    saved = await owner.data(SET_SPECIAL_HOURS, shop.special(today(), "closed"))
    assert saved["setSpecialHours"]["__typename"] == "StoreSaved"
    after = await owner.data(STORE, {"id": shop.store, "at": now})
    assert after["store"]["isOpenNow"] is False
    tomorrow = today() + timedelta(1)
    assert after["store"]["nextOpenAt"] == local(tomorrow, 0)
    assert await _found(owner, shop, open_now) == (False, False)
    assert await _found(owner, shop, None) == (True, True)  # without the filter: still there


async def test_the_open_at_filters_honour_special_hours(shop: OpenShop) -> None:
    manager = shop.merchant.staff("manager")
    day = today() + timedelta(days=3)
    await manager.data(SET_SPECIAL_HOURS, shop.special(day, "10:00-11:00"))
    inside, outside = {"openAt": local(day, 10, 30)}, {"openAt": local(day, 12)}
    regular = {"openAt": local(day - timedelta(1), 12)}
    assert await _found(manager, shop, inside) == (True, True)
    assert await _found(manager, shop, outside) == (False, False)
    assert await _found(manager, shop, regular) == (True, True)


async def test_search_open_at_honours_special_hours(shop: OpenShop, settings: Settings) -> None:
    await _publish(settings)
    manager = shop.merchant.staff("manager")
    day = today() + timedelta(days=4)
    await manager.data(SET_SPECIAL_HOURS, shop.special(day, "closed"))

    async def found(filter: dict[str, Any]) -> bool:
        data = await manager.data(SEARCH, {"q": shop.word, "filter": filter})
        return shop.deal in [edge["node"]["id"] for edge in data["searchDeals"]["edges"]]

    assert await found({}) is True  # the index has the deal
    assert await found({"openAt": local(day - timedelta(1), 12)}) is True
    assert await found({"openAt": local(day, 12)}) is False


async def _publish(settings: Settings) -> None:
    database, index = database_from(settings), search_index_from(settings)
    try:
        while (await publish_pending(database, index)).entries:
            pass
        await index.refresh()
    finally:
        await index.client.close()
        await database.dispose()


async def _found(caller: Any, shop: OpenShop, filter: dict[str, Any] | None) -> tuple[bool, bool]:
    """Whether nearbyDeals and dealsInView list the shop's deal with this filter."""
    nearby = await caller.data(NEARBY, {"near": KERGUELEN, "filter": filter})
    in_view = await caller.data(IN_VIEW, {"bbox": BBOX, "filter": filter})
    return (
        shop.deal in [edge["node"]["id"] for edge in nearby["nearbyDeals"]["edges"]],
        shop.deal in [deal["id"] for deal in in_view["dealsInView"]["deals"]],
    )


async def test_set_special_hours_refusals(shop: OpenShop, merchants: Merchants) -> None:
    owner = shop.merchant.staff("owner")
    past = await owner.data(SET_SPECIAL_HOURS, shop.special(today() - timedelta(2), "closed"))
    assert past["setSpecialHours"]["__typename"] == "InvalidInput"
    assert past["setSpecialHours"]["field"] == "input.date"
    far = await owner.data(SET_SPECIAL_HOURS, shop.special(today() + timedelta(800), "closed"))
    assert far["setSpecialHours"]["field"] == "input.date"
    for hours in ("Mo-Fr 25:00-26:00", "10:00-11:00; Tu off", "sometimes", "", "10-"):
        error = await owner.error(SET_SPECIAL_HOURS, shop.special(today(), hours))
        assert error["extensions"]["code"] == "BAD_USER_INPUT", hours
        assert error["extensions"]["argument"] == "input.hours"
    other = await merchants()
    for caller in (shop.merchant.staff("cashier"), other.staff("manager")):
        error = await caller.error(SET_SPECIAL_HOURS, shop.special(today(), "closed"))
        assert error["extensions"]["code"] == "FORBIDDEN"


async def test_special_hours_are_audited(shop: OpenShop, sql: psycopg.Connection[Any]) -> None:
    manager = shop.merchant.staff("manager", subject="manager-cy")
    day = today() + timedelta(days=5)
    await manager.data(SET_SPECIAL_HOURS, shop.special(day, "closed"))
    await manager.data(SET_SPECIAL_HOURS, shop.special(day, "12:00-13:00"))
    rows = sql.execute(
        "SELECT action, subject, role, before, after FROM staff_audit"
        " WHERE entity = 'store' AND entity_id = %s AND action = 'set_special_hours'"
        " ORDER BY id",
        [str(decode_id(shop.store))],
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("set_special_hours", "manager-cy", "manager")
    ] * 2
    assert rows[0][3] == {"date": day.isoformat(), "hours": None, "version": 1}
    assert rows[0][4] == {"date": day.isoformat(), "hours": "closed", "version": 2}
    assert rows[1][3]["hours"] == "closed" and rows[1][4]["hours"] == "12:00-13:00"
