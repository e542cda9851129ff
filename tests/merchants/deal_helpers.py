"""What the deal tests share: GraphQL documents, a merchant with a store and deals made
through the API (purged with its bookings, payments and vouchers), and role callers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.conftest import GraphQL
from tests.helpers import decode_id
from tests.merchants.conftest import As, Merchant, Merchants, token
from tests.orders.fixtures import ShopFactory

# Tristan da Cunha: far from every seeded place and from the other tests' remote shops.
TRISTAN = {"lat": -37.0675, "lng": -12.3105}

DEAL_FIELDS = """id title description status version price { amount currency }
  originalPrice { amount currency } validFrom validUntil totalQuantity remainingQuantity
  perUserLimit requiresBooking usageRules voucherValidDays category { slug }
  stores { id } merchant { id }"""
DEAL_RESULT = f"""__typename
  ... on DealSaved {{ deal {{ {DEAL_FIELDS} }} }}
  ... on InvalidInput {{ message field }}
  ... on VersionConflict {{ message currentVersion }}
  ... on NotAllowed {{ message }}"""


def mutation(name: str, input_type: str) -> str:
    return f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {DEAL_RESULT} }} }}"


CREATE_DEAL = mutation("createDeal", "CreateDealInput")
UPDATE_DEAL = mutation("updateDeal", "UpdateDealInput")
PUBLISH_DEAL = mutation("publishDeal", "PublishDealInput")
PAUSE_DEAL = mutation("pauseDeal", "PauseDealInput")
END_DEAL = mutation("endDeal", "EndDealInput")
ADJUST_STOCK = mutation("adjustDealStock", "AdjustDealStockInput")
SET_SLOTS = mutation("setDealSlots", "SetDealSlotsInput")
DEAL = f"query($id: ID!) {{ deal(id: $id) {{ {DEAL_FIELDS} }} }}"
SLOTS = """query($id: ID!, $from: DateTime, $to: DateTime) {
  deal(id: $id) { slots(from: $from, to: $to) { startsAt capacity remaining } } }"""
BOOK = """mutation($input: BookDealInput!) { bookDeal(input: $input) {
  __typename
  ... on BookDealSuccess { booking { id status quantity slotStart unitPrice { amount }
                           totalPrice { amount currency } } }
  ... on DealUnavailable { message } ... on SoldOut { message }
  ... on InvalidInput { message field } ... on PerUserLimitReached { message limit } } }"""


def soon(days: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@dataclass
class DealShop:
    """A merchant (made by an admin) with one store, whose owner makes deals."""

    merchant: Merchant
    store_id: str
    other_store_id: str
    gql: GraphQL
    made: list[str] = field(default_factory=list)

    @property
    def owner(self) -> As:
        return self.merchant.staff("owner")

    @property
    def manager(self) -> As:
        return self.merchant.staff("manager")

    @property
    def cashier(self) -> As:
        return self.merchant.staff("cashier")

    def customer(self) -> As:
        return As(self.gql, token(f"user-{uuid.uuid4().hex[:10]}", ["customer"]))

    def deal_input(self, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "merchantId": self.merchant.gid,
            "title": "Sunset crab platter",
            "description": "Crab for two at the harbour",
            "categorySlug": "restaurant",
            "price": {"amount": "25.00", "currency": "EUR"},
            "originalPrice": {"amount": "40.00", "currency": "EUR"},
            "storeIds": [self.store_id],
            "saleStartsAt": soon(-1),
            "saleEndsAt": soon(30),
            "voucherValidDays": 90,
            "totalQuantity": 20,
            "perUserLimit": 2,
            "usageRules": "One voucher per table.",
        }
        values.update(overrides)
        return values

    async def create(self, who: As | None = None, **overrides: Any) -> dict[str, Any]:
        result = await run(who or self.owner, CREATE_DEAL, self.deal_input(**overrides))
        assert result["__typename"] == "DealSaved", result
        deal: dict[str, Any] = result["deal"]
        self.made.append(deal["id"])
        return deal

    async def published(self, **overrides: Any) -> dict[str, Any]:
        deal = await self.create(**overrides)
        moved = await run(self.owner, PUBLISH_DEAL, {"dealId": deal["id"], "expectedVersion": 1})
        assert moved["__typename"] == "DealSaved", moved
        published: dict[str, Any] = moved["deal"]
        return published


async def run(who: As, document: str, values: dict[str, Any]) -> dict[str, Any]:
    """The mutation's result object (the one root field)."""
    data = await who.data(document, {"input": values})
    (result,) = data.values()
    assert isinstance(result, dict)
    return result


async def book(who: As, deal_id: str, key: str, quantity: int = 1, **extra: Any) -> Any:
    payload = {"dealId": deal_id, "quantity": quantity, "idempotencyKey": key, **extra}
    return (await who.data(BOOK, {"input": payload}))["bookDeal"]


@pytest.fixture
async def deal_shop(
    merchants: Merchants, gql: GraphQL, sql: psycopg.Connection[Any]
) -> AsyncIterator[DealShop]:
    merchant = await merchants()
    first = await merchant.store(name="Harbour", location=TRISTAN)
    second = await merchant.store(name="Quay", location=TRISTAN)
    yield DealShop(merchant, first["id"], second["id"], gql)
    # bookings, payments and vouchers first: they keep their deals from being deleted
    ShopFactory(sql, merchant_ids=[merchant.id]).purge()


def deal_row(sql: psycopg.Connection[Any], deal_id: str) -> dict[str, Any]:
    cursor = sql.execute(
        "SELECT status, version, title, price, total_quantity, remaining_quantity"
        " FROM deals WHERE id = %s",
        [decode_id(deal_id)],
    )
    row = cursor.fetchone()
    assert row is not None
    names = ("status", "version", "title", "price", "total_quantity", "remaining_quantity")
    return dict(zip(names, row, strict=True))
