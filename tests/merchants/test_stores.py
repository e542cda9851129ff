"""createStore / updateStore over HTTP against the real stack: every result member, role
checks, version conflicts that change nothing, zones derived from the location or checked,
opening hours checked by the parser that evaluates them, and the audit rows of each write."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.helpers import HELSINKI, SHANGHAI, decode_id
from tests.merchants.conftest import (
    CREATE_STORE,
    KERGUELEN,
    UPDATE_STORE,
    As,
    Merchants,
)


def audit_rows(sql: psycopg.Connection[Any], entity: str, entity_id: int) -> list[Any]:
    return sql.execute(
        "SELECT action, subject, role, merchant_id, before, after FROM staff_audit"
        " WHERE entity = %s AND entity_id = %s ORDER BY id",
        [entity, str(entity_id)],
    ).fetchall()


async def test_a_manager_creates_a_store_that_is_audited_and_queued_for_search(
    merchants: Merchants, sql: psycopg.Connection[Any]
) -> None:
    shop = await merchants()
    manager = shop.staff("manager", subject="manager-ann")
    variables = {
        "input": {
            "merchantId": shop.gid,
            "name": "  Harbour kiosk ",
            "address": "Port-aux-Français 1",
            "location": KERGUELEN,
            "timeZone": "Indian/Kerguelen",
            "openingHours": "Mo-Fr 09:00-17:00",
        }
    }
    result = (await manager.data(CREATE_STORE, variables))["createStore"]
    assert result["__typename"] == "StoreSaved"
    store = result["store"]
    assert store["name"] == "Harbour kiosk"
    assert store["address"] == "Port-aux-Français 1"
    assert store["timezone"] == "Indian/Kerguelen"
    assert store["openingHours"] == "Mo-Fr 09:00-17:00"
    assert store["version"] == 1
    assert store["specialHours"] == []
    assert store["merchant"]["id"] == shop.gid
    assert store["location"] == pytest.approx(KERGUELEN)
    store_id = decode_id(store["id"])
    row = sql.execute(
        "SELECT merchant_id, country_code FROM stores WHERE id = %s", [store_id]
    ).fetchone()
    assert row == (shop.id, "TF")
    # the search triggers already on stores record it in the outbox
    pending = sql.execute(
        "SELECT count(*) FROM search_outbox WHERE entity = 'store' AND entity_key = %s",
        [str(store_id)],
    ).fetchone()
    assert pending is not None and pending[0] >= 1
    [(action, subject, role, merchant_id, before, after)] = audit_rows(sql, "store", store_id)
    assert (action, subject, role, merchant_id) == (
        "create_store",
        "manager-ann",
        "manager",
        shop.id,
    )
    assert before is None
    assert after["name"] == "Harbour kiosk" and after["version"] == 1
    # the node is readable like any other store
    node = await manager.data(
        "query($id: ID!) { store(id: $id) { name version } }", {"id": store["id"]}
    )
    assert node["store"] == {"name": "Harbour kiosk", "version": 1}


@pytest.mark.parametrize(
    ("point", "zone", "country"),
    [(HELSINKI, "Europe/Helsinki", "FI"), (SHANGHAI, "Asia/Shanghai", "CN")],
)
async def test_a_zone_left_out_is_derived_from_the_location(
    merchants: Merchants,
    sql: psycopg.Connection[Any],
    point: dict[str, float],
    zone: str,
    country: str,
) -> None:
    shop = await merchants()
    store = await shop.store(location=point, timeZone=None)
    assert store["timezone"] == zone
    row = sql.execute("SELECT country_code FROM stores WHERE id = %s", [decode_id(store["id"])])
    assert row.fetchone() == (country,)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Europe/Helsinki ", "localtime", "UTC+3"])
async def test_a_zone_that_is_not_iana_is_bad_user_input(merchants: Merchants, zone: str) -> None:
    shop = await merchants()
    variables = {
        "input": {"merchantId": shop.gid, "name": "X", "location": KERGUELEN, "timeZone": zone}
    }
    error = await shop.staff("owner").error(CREATE_STORE, variables)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == "input.timeZone"


@pytest.mark.parametrize(
    "hours", ["Mon - Fri 9am-5pm", "Mo-Fr 25:00-26:00", "Mo-Fr 09:00-", "open sometimes"]
)
async def test_malformed_hours_are_bad_user_input_naming_the_argument(
    merchants: Merchants, hours: str
) -> None:
    shop = await merchants()
    variables = {
        "input": {
            "merchantId": shop.gid,
            "name": "X",
            "location": KERGUELEN,
            "openingHours": hours,
        }
    }
    error = await shop.staff("manager").error(CREATE_STORE, variables)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == "input.openingHours"
    store = await shop.store()
    update = {"input": {"storeId": store["id"], "expectedVersion": 1, "openingHours": hours}}
    error = await shop.staff("manager").error(UPDATE_STORE, update)
    assert error["extensions"]["argument"] == "input.openingHours"


@pytest.mark.parametrize(
    ("field", "value", "argument"),
    [
        ("name", "   ", "input.name"),
        ("name", "x" * 201, "input.name"),
        ("address", "x" * 501, "input.address"),
        ("location", {"lat": 91.0, "lng": 0.0}, "input.location.lat"),
        ("location", {"lat": 0.0, "lng": -181.0}, "input.location.lng"),
    ],
)
async def test_other_malformed_values_name_their_argument(
    merchants: Merchants, field: str, value: Any, argument: str
) -> None:
    shop = await merchants()
    values = {"merchantId": shop.gid, "name": "X", "location": KERGUELEN, field: value}
    error = await shop.staff("owner").error(CREATE_STORE, {"input": values})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == argument


async def test_who_may_create_a_store(merchants: Merchants, gql: GraphQL) -> None:
    shop, other = await merchants(), await merchants()
    values = {"merchantId": shop.gid, "name": "X", "location": KERGUELEN, "timeZone": "UTC"}
    forbidden = [
        shop.staff("cashier"),
        shop.staff(None),  # no staff_role claim: a cashier
        other.staff("owner"),  # another merchant's owner
        other.staff("manager"),
        As(gql),  # anonymous
    ]
    codes = []
    for caller in forbidden:
        error = await caller.error(CREATE_STORE, {"input": values})
        codes.append(error["extensions"]["code"])
    assert codes == ["FORBIDDEN"] * 4 + ["UNAUTHENTICATED"]
    for caller in (shop.staff("owner"), shop.staff("manager"), merchants.admin):
        result = (await caller.data(CREATE_STORE, {"input": values}))["createStore"]
        assert result["__typename"] == "StoreSaved"
    missing = {**values, "merchantId": to_global_id("Merchant", 999_999_999)}
    error = await merchants.admin.error(CREATE_STORE, {"input": missing})
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_update_store_changes_what_is_given_and_bumps_the_version(
    merchants: Merchants, sql: psycopg.Connection[Any]
) -> None:
    shop = await merchants()
    store = await shop.store(address="Old street 1")
    manager = shop.staff("manager", subject="manager-bo")
    change = {
        "input": {
            "storeId": store["id"],
            "expectedVersion": 1,
            "name": "Renamed",
            "openingHours": "Sa-Su 10:00-14:00",
        }
    }
    result = (await manager.data(UPDATE_STORE, change))["updateStore"]
    assert result["__typename"] == "StoreSaved"
    updated = result["store"]
    assert updated["version"] == 2
    assert updated["name"] == "Renamed"
    assert updated["openingHours"] == "Sa-Su 10:00-14:00"
    assert updated["address"] == "Old street 1"  # left out: kept
    assert updated["timezone"] == "Europe/Helsinki"
    # null clears what may be empty
    clear = {"input": {"storeId": store["id"], "expectedVersion": 2, "address": None}}
    cleared = (await manager.data(UPDATE_STORE, clear))["updateStore"]["store"]
    assert cleared["address"] is None and cleared["version"] == 3
    # a store that moves without a zone takes the zone of its new place
    move = {"input": {"storeId": store["id"], "expectedVersion": 3, "location": SHANGHAI}}
    moved = (await manager.data(UPDATE_STORE, move))["updateStore"]["store"]
    assert moved["timezone"] == "Asia/Shanghai" and moved["version"] == 4
    rows = audit_rows(sql, "store", decode_id(store["id"]))
    assert [row[0] for row in rows] == ["create_store"] + ["update_store"] * 3
    _, subject, role, _, before, after = rows[1]
    assert (subject, role) == ("manager-bo", "manager")
    assert (before["name"], before["version"]) == ("Test store", 1)
    assert (after["name"], after["version"], after["opening_hours"]) == (
        "Renamed",
        2,
        "Sa-Su 10:00-14:00",
    )
    assert rows[3][4]["timezone"] == "Europe/Helsinki"
    assert rows[3][5]["timezone"] == "Asia/Shanghai"


async def test_a_stale_version_conflicts_and_changes_nothing(
    merchants: Merchants, sql: psycopg.Connection[Any]
) -> None:
    shop = await merchants()
    store = await shop.store()
    manager = shop.staff("manager")
    first = {"input": {"storeId": store["id"], "expectedVersion": 1, "name": "First"}}
    assert (await manager.data(UPDATE_STORE, first))["updateStore"]["__typename"] == "StoreSaved"
    audited = len(audit_rows(sql, "store", decode_id(store["id"])))
    stale = {"input": {"storeId": store["id"], "expectedVersion": 1, "name": "Second"}}
    result = (await manager.data(UPDATE_STORE, stale))["updateStore"]
    assert result["__typename"] == "VersionConflict"
    assert result["currentVersion"] == 2
    assert "version 2" in result["message"]
    row = sql.execute(
        "SELECT name, version FROM stores WHERE id = %s", [decode_id(store["id"])]
    ).fetchone()
    assert row == ("First", 2)
    assert len(audit_rows(sql, "store", decode_id(store["id"]))) == audited


async def test_update_store_refusals(merchants: Merchants) -> None:
    shop, other = await merchants(), await merchants()
    store = await shop.store()
    nothing = {"input": {"storeId": store["id"], "expectedVersion": 1}}
    result = (await shop.staff("owner").data(UPDATE_STORE, nothing))["updateStore"]
    assert result == {
        "__typename": "InvalidInput",
        "message": "nothing to change: give at least one field",
        "field": "input",
    }
    rename = {"input": {"storeId": store["id"], "expectedVersion": 1, "name": "Taken over"}}
    for caller in (other.staff("manager"), other.staff("owner"), shop.staff("cashier")):
        error = await caller.error(UPDATE_STORE, rename)
        assert error["extensions"]["code"] == "FORBIDDEN"
    nulled = {"input": {"storeId": store["id"], "expectedVersion": 1, "name": None}}
    error = await shop.staff("owner").error(UPDATE_STORE, nulled)
    assert error["extensions"]["argument"] == "input.name"
    zone = {"input": {"storeId": store["id"], "expectedVersion": 1, "timeZone": "Nowhere/City"}}
    error = await shop.staff("owner").error(UPDATE_STORE, zone)
    assert error["extensions"]["argument"] == "input.timeZone"
    gone = {"input": {"storeId": to_global_id("Store", 999_999_999), "expectedVersion": 1}}
    error = await shop.staff("owner").error(UPDATE_STORE, {"input": {**gone["input"], "name": "x"}})
    assert error["extensions"]["code"] == "NOT_FOUND"
    # a null zone derives it again from the location
    derive = {"input": {"storeId": store["id"], "expectedVersion": 1, "timeZone": None}}
    derived = (await shop.staff("owner").data(UPDATE_STORE, derive))["updateStore"]["store"]
    assert derived["timezone"] == "Indian/Kerguelen"
