"""createDeal / updateDeal / publishDeal / pauseDeal / endDeal over HTTP against the real
stack: every result member, the role checks, version conflicts that change nothing, audit
rows, and bookDeal refusing what is not published."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.helpers import decode_id
from tests.merchants.conftest import As, Merchants
from tests.merchants.deal_helpers import (
    CREATE_DEAL,
    DEAL,
    END_DEAL,
    PAUSE_DEAL,
    PUBLISH_DEAL,
    UPDATE_DEAL,
    DealShop,
    book,
    deal_row,
    run,
    soon,
)


def audit_actions(sql: psycopg.Connection[Any], deal_id: str) -> list[tuple[str, str]]:
    rows = sql.execute(
        "SELECT action, role FROM staff_audit WHERE entity = 'deal' AND entity_id = %s ORDER BY id",
        [str(decode_id(deal_id))],
    ).fetchall()
    return [(str(action), str(role)) for action, role in rows]


async def test_a_manager_creates_a_draft_nobody_can_book(deal_shop: DealShop) -> None:
    deal = await deal_shop.create(deal_shop.manager)
    assert deal["status"] == "DRAFT"
    assert deal["version"] == 1
    assert deal["price"] == {"amount": "25.00", "currency": "EUR"}
    assert deal["originalPrice"] == {"amount": "40.00", "currency": "EUR"}
    assert (deal["totalQuantity"], deal["remainingQuantity"], deal["perUserLimit"]) == (20, 20, 2)
    assert deal["usageRules"] == "One voucher per table."
    assert deal["voucherValidDays"] == 90
    assert deal["category"] == {"slug": "restaurant"}
    assert deal["stores"] == [{"id": deal_shop.store_id}]
    assert deal["merchant"] == {"id": deal_shop.merchant.gid}
    refused = await book(deal_shop.customer(), deal["id"], "draft")
    assert refused == {"__typename": "DealUnavailable", "message": "this deal is not published yet"}


async def test_create_deal_refusals(deal_shop: DealShop, merchants: Merchants, gql: Any) -> None:
    elsewhere = await merchants()
    foreign_store = (await elsewhere.store())["id"]
    invalid: dict[str, dict[str, Any]] = {
        "input.saleEndsAt": {"saleStartsAt": soon(2), "saleEndsAt": soon(1)},
        "input.storeIds": {"storeIds": [foreign_store]},
        "input.categorySlug": {"categorySlug": "no_such_category"},
        "input.originalPrice": {"originalPrice": {"amount": "10.00", "currency": "EUR"}},
        "input.originalPrice.currency": {"originalPrice": {"amount": "50.00", "currency": "USD"}},
    }
    for field, overrides in invalid.items():
        result = await run(deal_shop.owner, CREATE_DEAL, deal_shop.deal_input(**overrides))
        assert (result["__typename"], result["field"]) == ("InvalidInput", field), result
        assert result["message"]

    for who in (deal_shop.cashier, elsewhere.staff("manager"), deal_shop.customer()):
        result = await run(who, CREATE_DEAL, deal_shop.deal_input())
        assert result["__typename"] == "NotAllowed", result
        assert result["message"]

    malformed: dict[str, dict[str, Any]] = {
        "input.title": {"title": "   "},
        "input.price.amount": {"price": {"amount": "12.345", "currency": "EUR"}},
        "input.price.currency": {"price": {"amount": "12.00", "currency": "eur"}},
        "input.saleStartsAt": {"saleStartsAt": "2030-01-01T10:00:00"},
        "input.voucherValidDays": {"voucherValidDays": 0},
        "input.storeIds": {"storeIds": []},
        "input.perUserLimit": {"perUserLimit": 101},
    }
    for argument, overrides in malformed.items():
        error = await deal_shop.owner.error(
            CREATE_DEAL, {"input": deal_shop.deal_input(**overrides)}
        )
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}, error
    anonymous = await As(gql).error(CREATE_DEAL, {"input": deal_shop.deal_input()})
    assert anonymous["extensions"]["code"] == "UNAUTHENTICATED"


async def test_update_deal_members_and_a_stale_version_changes_nothing(
    deal_shop: DealShop, merchants: Merchants, sql: psycopg.Connection[Any]
) -> None:
    deal = await deal_shop.create()
    changed = await run(
        deal_shop.manager,
        UPDATE_DEAL,
        {
            "dealId": deal["id"],
            "expectedVersion": 1,
            "title": "Sunrise crab platter",
            "price": {"amount": "22.50", "currency": "EUR"},
            "storeIds": [deal_shop.store_id, deal_shop.other_store_id],
            "usageRules": None,
            "categorySlug": None,
        },
    )
    assert changed["__typename"] == "DealSaved", changed
    saved = changed["deal"]
    assert (saved["version"], saved["title"], saved["price"]["amount"]) == (
        2,
        "Sunrise crab platter",
        "22.50",
    )
    assert saved["usageRules"] is None
    assert len(saved["stores"]) == 2
    before = deal_row(sql, deal["id"])

    stale = await run(
        deal_shop.owner, UPDATE_DEAL, {"dealId": deal["id"], "expectedVersion": 1, "title": "X"}
    )
    assert stale["__typename"] == "VersionConflict"
    assert stale["currentVersion"] == 2
    for who in (deal_shop.cashier, (await merchants()).staff("manager")):
        refused = await run(
            who, UPDATE_DEAL, {"dealId": deal["id"], "expectedVersion": 2, "title": "Y"}
        )
        assert refused["__typename"] == "NotAllowed", refused
    nothing = await run(deal_shop.owner, UPDATE_DEAL, {"dealId": deal["id"], "expectedVersion": 2})
    assert (nothing["__typename"], nothing["field"]) == ("InvalidInput", "input")
    assert deal_row(sql, deal["id"]) == before  # none of them changed anything
    fetched = (await deal_shop.owner.data(DEAL, {"id": deal["id"]}))["deal"]
    assert (fetched["title"], fetched["version"]) == ("Sunrise crab platter", 2)

    cleared = await deal_shop.owner.error(
        UPDATE_DEAL, {"input": {"dealId": deal["id"], "expectedVersion": 2, "title": None}}
    )
    assert cleared["extensions"] == {"code": "BAD_USER_INPUT", "argument": "input.title"}
    assert audit_actions(sql, deal["id"]) == [("create_deal", "owner"), ("update_deal", "manager")]


async def test_total_quantity_keeps_the_units_already_taken(deal_shop: DealShop) -> None:
    deal = await deal_shop.published(totalQuantity=5)
    buyer = deal_shop.customer()
    assert (await book(buyer, deal["id"], "two", 2))["__typename"] == "BookDealSuccess"
    lowered = await run(
        deal_shop.owner,
        UPDATE_DEAL,
        {"dealId": deal["id"], "expectedVersion": 2, "totalQuantity": 3},
    )
    assert lowered["__typename"] == "DealSaved", lowered
    assert (lowered["deal"]["totalQuantity"], lowered["deal"]["remainingQuantity"]) == (3, 1)
    too_low = await run(
        deal_shop.owner,
        UPDATE_DEAL,
        {"dealId": deal["id"], "expectedVersion": 3, "totalQuantity": 1},
    )
    assert (too_low["__typename"], too_low["field"]) == ("InvalidInput", "input.totalQuantity")
    unlimited = await run(
        deal_shop.owner,
        UPDATE_DEAL,
        {"dealId": deal["id"], "expectedVersion": 3, "totalQuantity": None},
    )
    assert (unlimited["deal"]["totalQuantity"], unlimited["deal"]["remainingQuantity"]) == (
        None,
        None,
    )
    limited = await run(
        deal_shop.owner,
        UPDATE_DEAL,
        {"dealId": deal["id"], "expectedVersion": 4, "totalQuantity": 10},
    )
    assert (limited["deal"]["totalQuantity"], limited["deal"]["remainingQuantity"]) == (10, 8)


async def test_the_lifecycle_moves_and_their_refusals(
    deal_shop: DealShop, merchants: Merchants, sql: psycopg.Connection[Any]
) -> None:
    deal = await deal_shop.create()
    deal_id = deal["id"]
    other_manager = (await merchants()).staff("manager")

    async def move(document: str, version: int, who: As | None = None) -> dict[str, Any]:
        return await run(
            who or deal_shop.manager, document, {"dealId": deal_id, "expectedVersion": version}
        )

    assert (await move(PAUSE_DEAL, 1))["__typename"] == "InvalidInput"  # a draft is not on sale
    for who in (deal_shop.cashier, other_manager):
        assert (await move(PUBLISH_DEAL, 1, who))["__typename"] == "NotAllowed"
    assert (await move(PUBLISH_DEAL, 7))["currentVersion"] == 1
    assert deal_row(sql, deal_id)["status"] == "DRAFT"

    published = await move(PUBLISH_DEAL, 1)
    assert (published["deal"]["status"], published["deal"]["version"]) == ("PUBLISHED", 2)
    assert (await move(PUBLISH_DEAL, 2))["__typename"] == "InvalidInput"  # already on sale

    for who in (deal_shop.cashier, other_manager):
        assert (await move(PAUSE_DEAL, 2, who))["__typename"] == "NotAllowed"
    assert (await move(PAUSE_DEAL, 1))["__typename"] == "VersionConflict"
    paused = await move(PAUSE_DEAL, 2)
    assert (paused["deal"]["status"], paused["deal"]["version"]) == ("PAUSED", 3)
    refused = await book(deal_shop.customer(), deal_id, "paused")
    assert refused == {
        "__typename": "DealUnavailable",
        "message": "this deal is paused by the merchant",
    }

    for who in (deal_shop.cashier, other_manager):
        assert (await move(END_DEAL, 3, who))["__typename"] == "NotAllowed"
    assert (await move(END_DEAL, 2))["__typename"] == "VersionConflict"
    ended = await move(END_DEAL, 3)
    assert (ended["deal"]["status"], ended["deal"]["version"]) == ("ENDED", 4)
    assert (await move(END_DEAL, 4))["__typename"] == "InvalidInput"
    assert (await move(PUBLISH_DEAL, 4))["__typename"] == "InvalidInput"
    changed = await run(
        deal_shop.owner, UPDATE_DEAL, {"dealId": deal_id, "expectedVersion": 4, "title": "Again"}
    )
    assert (changed["__typename"], changed["field"]) == ("InvalidInput", "input.dealId")
    assert deal_row(sql, deal_id)["version"] == 4
    assert [action for action, _ in audit_actions(sql, deal_id)] == [
        "create_deal",
        "publish_deal",
        "pause_deal",
        "end_deal",
    ]


MERCHANT_DEALS = """query($id: ID!) { merchant(id: $id) {
  deals(first: 10) { totalCount edges { node { id status } } } } }"""


async def test_drafts_are_seen_only_by_those_who_manage_the_deals(
    deal_shop: DealShop, gql: Any
) -> None:
    draft = await deal_shop.create(title="Draft")
    published = await deal_shop.published(title="Published")
    variables = {"id": deal_shop.merchant.gid}
    public = (await As(gql).data(MERCHANT_DEALS, variables))["merchant"]["deals"]
    assert public["totalCount"] == 1
    assert [e["node"]["id"] for e in public["edges"]] == [published["id"]]
    for who in (deal_shop.cashier, deal_shop.customer()):
        seen = (await who.data(MERCHANT_DEALS, variables))["merchant"]["deals"]
        assert [e["node"]["id"] for e in seen["edges"]] == [published["id"]]
    managed = (await deal_shop.manager.data(MERCHANT_DEALS, variables))["merchant"]["deals"]
    assert managed["totalCount"] == 2
    assert [e["node"]["status"] for e in managed["edges"]] == ["DRAFT", "PUBLISHED"]
    hidden = await As(gql).error(DEAL, {"id": draft["id"]})
    assert hidden["extensions"]["code"] == "NOT_FOUND"
    assert (await deal_shop.owner.data(DEAL, {"id": draft["id"]}))["deal"]["status"] == "DRAFT"
