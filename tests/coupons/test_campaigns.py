"""Coupon campaigns on the real stack: the DRAFT -> PUBLISHED -> PAUSED/ENDED lifecycle with
expectedVersion, who may do it (OWNER and MANAGER, not CASHIER, not customers, not another
merchant), the value checks, own stores only, who sees what in Merchant.coupons, the audit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg

from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.coupons.campaign_helpers import (
    CREATE,
    END,
    PAUSE,
    PUBLISH,
    UPDATE,
    campaign_shops,
    coupon_input,
    created,
    customer_of,
    iso,
    staff_of,
)
from tests.helpers import decode_id
from tests.orders.fixtures import ShopFactory

__all__ = ["campaign_shops"]

MERCHANT_COUPONS = """query($id: ID!) { node(id: $id) { ... on Merchant {
  coupons(first: 50) { edges { node { id status } } } } } }"""


async def move(caller: Any, document: str, coupon: dict[str, Any], version: int) -> Any:
    variables = {"input": {"couponId": coupon["id"], "expectedVersion": version}}
    data = await caller.data(document, variables)
    return next(iter(data.values()))


async def test_the_lifecycle_follows_deals_with_versions(
    gql: GraphQL, campaign_shops: ShopFactory
) -> None:
    shop = campaign_shops()
    manager = staff_of(gql, shop, "manager")
    coupon = await created(manager, shop, minBill={"amount": "20.00", "currency": "EUR"})
    assert (coupon["status"], coupon["version"]) == ("DRAFT", 1)
    assert coupon["kind"] == "PERCENT_OFF" and coupon["value"] == "10"
    assert coupon["minBill"] == {"amount": "20.00", "currency": "EUR"}
    assert coupon["currency"] == "EUR"
    assert [s["id"] for s in coupon["stores"]] == [shop.store]

    stale = await move(manager, PUBLISH, coupon, 7)
    assert stale["__typename"] == "VersionConflict" and stale["currentVersion"] == 1
    result = await move(manager, PUBLISH, coupon, 1)
    assert (result["coupon"]["status"], result["coupon"]["version"]) == ("PUBLISHED", 2)
    again = await move(manager, PUBLISH, coupon, 2)
    assert again["__typename"] == "InvalidInput" and "PUBLISHED" in again["message"]
    paused = await move(manager, PAUSE, coupon, 2)
    assert paused["coupon"]["status"] == "PAUSED"
    back = await move(manager, PUBLISH, coupon, 3)
    assert back["coupon"]["status"] == "PUBLISHED"
    ended = await move(manager, END, coupon, 4)
    assert ended["coupon"]["status"] == "ENDED"
    for document in (PUBLISH, PAUSE, END):
        refused = await move(manager, document, coupon, 5)
        assert refused["__typename"] == "InvalidInput", refused
    update = {"couponId": coupon["id"], "expectedVersion": 5, "title": "Later"}
    refused = (await manager.data(UPDATE, {"input": update}))["updateCoupon"]
    assert refused["__typename"] == "InvalidInput" and "ended" in refused["message"]


async def test_update_changes_terms_at_the_version_read(
    gql: GraphQL, campaign_shops: ShopFactory
) -> None:
    shop = campaign_shops(stores=2)
    manager = staff_of(gql, shop, "owner")
    coupon = await created(manager, shop, totalQuantity=10)
    changes = {
        "couponId": coupon["id"],
        "expectedVersion": 1,
        "kind": "AMOUNT_OFF",
        "value": "5",
        "currency": "EUR",
        "storeIds": [shop.store_gid(0), shop.store_gid(1)],
        "totalQuantity": 4,
        "perUserLimit": 2,
    }
    result = (await manager.data(UPDATE, {"input": changes}))["updateCoupon"]
    assert result["__typename"] == "CouponSaved", result
    saved = result["coupon"]
    assert (saved["kind"], saved["value"], saved["version"]) == ("AMOUNT_OFF", "5.00", 2)
    assert (saved["totalQuantity"], saved["remainingQuantity"], saved["perUserLimit"]) == (4, 4, 2)
    assert len(saved["stores"]) == 2
    stale = (await manager.data(UPDATE, {"input": {**changes, "title": "x"}}))["updateCoupon"]
    assert stale["__typename"] == "VersionConflict" and stale["currentVersion"] == 2
    nothing = (
        await manager.data(UPDATE, {"input": {"couponId": coupon["id"], "expectedVersion": 2}})
    )["updateCoupon"]
    assert nothing["__typename"] == "InvalidInput"


async def test_roles_who_may_manage_coupons(gql: GraphQL, campaign_shops: ShopFactory) -> None:
    shop, other = campaign_shops(), campaign_shops()
    variables = {"input": coupon_input(shop)}
    for caller in (staff_of(gql, shop, "owner"), staff_of(gql, shop, "manager")):
        result = (await caller.data(CREATE, variables))["createCoupon"]
        assert result["__typename"] == "CouponSaved", result
    for caller in (staff_of(gql, shop, "cashier"), staff_of(gql, other, "manager")):
        result = (await caller.data(CREATE, variables))["createCoupon"]
        assert result["__typename"] == "NotAllowed", result
        assert "coupons" in result["message"]
    result = (await customer_of(gql).data(CREATE, variables))["createCoupon"]
    assert result["__typename"] == "NotAllowed"
    coupon = await created(staff_of(gql, shop, "manager"), shop)
    cashier = staff_of(gql, shop, "cashier")
    refused = await move(cashier, PUBLISH, coupon, 1)
    assert refused["__typename"] == "NotAllowed"
    anonymous = await gql(
        UPDATE, {"input": {"couponId": coupon["id"], "expectedVersion": 1, "title": "x"}}
    )
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_values_are_checked_and_name_the_argument(
    gql: GraphQL, campaign_shops: ShopFactory
) -> None:
    shop, other = campaign_shops(), campaign_shops()
    manager = staff_of(gql, shop, "manager")
    bad: list[tuple[dict[str, Any], str]] = [
        ({"value": "0"}, "input.value"),
        ({"value": "100.5"}, "input.value"),
        ({"value": "ten"}, "input.value"),
        ({"kind": "AMOUNT_OFF", "value": "5"}, "input.currency"),
        ({"kind": "AMOUNT_OFF", "value": "-5", "currency": "EUR"}, "input.value"),
        ({"kind": "AMOUNT_OFF", "value": "5.5", "currency": "JPY"}, "input.value"),
        ({"kind": "FREE_ITEM", "value": "  "}, "input.value"),
        ({"title": ""}, "input.title"),
        ({"perUserLimit": 0}, "input.perUserLimit"),
        ({"totalQuantity": -1}, "input.totalQuantity"),
        ({"audience": "SEGMENT"}, "input.segmentId"),
        ({"storeIds": []}, "input.storeIds"),
    ]
    for fields, argument in bad:
        body = await manager(CREATE, {"input": coupon_input(shop, **fields)})
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (fields, body)
        assert error["extensions"]["argument"] == argument, (fields, error)
    misfits: list[tuple[dict[str, Any], str]] = [
        ({"validUntil": iso(-timedelta(hours=2))}, "input.validUntil"),
        ({"storeIds": [other.store]}, "input.storeIds"),
        (
            {"currency": "USD", "minBill": {"amount": "5.00", "currency": "EUR"}},
            "input.minBill.currency",
        ),
    ]
    for fields, field in misfits:
        result = await manager.data(CREATE, {"input": coupon_input(shop, **fields)})
        assert result["createCoupon"]["__typename"] == "InvalidInput", fields
        assert result["createCoupon"]["field"] == field
    item = await created(manager, shop, kind="FREE_ITEM", value="A coffee")
    assert (item["value"], item["currency"]) == ("A coffee", None)


async def test_merchant_coupons_show_drafts_to_managers_only(
    gql: GraphQL, campaign_shops: ShopFactory, sql: psycopg.Connection[Any]
) -> None:
    shop = campaign_shops()
    manager = staff_of(gql, shop, "manager")
    draft = await created(manager, shop)
    live = await created(manager, shop)
    await move(manager, PUBLISH, live, 1)
    merchant = to_global_id("Merchant", shop.merchant_id)

    def ids(data: Any) -> list[str]:
        return [edge["node"]["id"] for edge in data["node"]["coupons"]["edges"]]

    assert ids(await gql.data(MERCHANT_COUPONS, {"id": merchant})) == [live["id"]]
    customer = customer_of(gql)
    assert ids(await customer.data(MERCHANT_COUPONS, {"id": merchant})) == [live["id"]]
    assert ids(await manager.data(MERCHANT_COUPONS, {"id": merchant})) == [draft["id"], live["id"]]
    hidden = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": draft["id"]})
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    audit = sql.execute(
        "SELECT action FROM staff_audit WHERE entity = 'coupon' AND entity_id = %s ORDER BY id",
        [str(decode_id(live["id"]))],
    ).fetchall()
    assert [row[0] for row in audit] == ["create_coupon", "publish_coupon"]
