"""Fixtures of the O2O loop tests: shops (merchant, stores, one deal) owned by a test and
purged after it, signed tokens, and a GraphQL caller that sends them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from gateway.auth import mint_token
from gateway.settings import Settings
from schema.ids import to_global_id
from tests.conftest import GraphQL

# Far from every seeded place (the South Atlantic), so discovery tests never see these rows.
REMOTE = (-54.42, 3.36)


@dataclass
class Shop:
    merchant_id: int
    store_ids: list[int]
    deal_id: int
    price: Decimal

    @property
    def merchant(self) -> str:
        return to_global_id("Merchant", self.merchant_id)

    @property
    def deal(self) -> str:
        return to_global_id("Deal", self.deal_id)

    @property
    def store(self) -> str:
        return to_global_id("Store", self.store_ids[0])

    def store_gid(self, index: int) -> str:
        return to_global_id("Store", self.store_ids[index])


@dataclass
class ShopFactory:
    sql: psycopg.Connection[Any]
    merchant_ids: list[int] = field(default_factory=list)

    def __call__(
        self,
        *,
        stock: int | None = 10,
        price: str = "25.00",
        per_user_limit: int = 5,
        stores: int = 1,
        deal_stores: int | None = None,
        valid_from: str = "now() - interval '1 day'",
        valid_until: str = "now() + interval '30 days'",
    ) -> Shop:
        tag = uuid.uuid4().hex[:12]
        category = self.sql.execute("SELECT slug FROM categories ORDER BY slug LIMIT 1").fetchone()
        assert category is not None
        merchant = self.sql.execute(
            "INSERT INTO merchants (external_key, name, category_slug, source, is_demo)"
            " VALUES (%s, %s, %s, 'test', true) RETURNING id",
            [f"test:{tag}", f"Test shop {tag}", category[0]],
        ).fetchone()
        assert merchant is not None
        self.merchant_ids.append(merchant[0])
        store_ids = [self._store(merchant[0], f"{tag}:{i}") for i in range(stores)]
        deal = self.sql.execute(
            "INSERT INTO deals (merchant_id, external_key, title, price, currency, valid_from,"
            f" valid_until, total_quantity, remaining_quantity, per_user_limit, is_demo)"
            f" VALUES (%s, %s, 'Test deal', %s, 'EUR', {valid_from}, {valid_until}, %s, %s, %s,"
            " true) RETURNING id",
            [merchant[0], f"test:{tag}", Decimal(price), stock, stock, per_user_limit],
        ).fetchone()
        assert deal is not None
        for store_id in store_ids[: stores if deal_stores is None else deal_stores]:
            self.sql.execute("INSERT INTO deal_stores VALUES (%s, %s)", [deal[0], store_id])
        return Shop(merchant[0], store_ids, deal[0], Decimal(price))

    def _store(self, merchant_id: int, key: str) -> int:
        lat, lng = REMOTE
        row = self.sql.execute(
            "INSERT INTO stores (merchant_id, external_key, name, location, timezone,"
            " country_code) VALUES (%s, %s, 'Test store',"
            " ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, 'UTC', 'NO') RETURNING id",
            [merchant_id, f"test:{key}", lng, lat],
        ).fetchone()
        assert row is not None
        return int(row[0])

    def purge(self) -> None:
        """Remove everything the shops caused; the payment log needs the explicit opt-in."""
        ids = self.merchant_ids
        bookings = "SELECT b.id FROM bookings b JOIN deals d ON d.id = b.deal_id"
        bookings += " WHERE d.merchant_id = ANY(%(m)s)"
        with self.sql.transaction():
            self.sql.execute("SET LOCAL o2o.purge = 'on'")
            for statement in (
                "DELETE FROM redemptions WHERE merchant_id = ANY(%(m)s)",
                "DELETE FROM vouchers WHERE merchant_id = ANY(%(m)s)",
                "DELETE FROM payment_events WHERE payment_id IN"
                f" (SELECT id FROM payments WHERE booking_id IN ({bookings}))",
                f"DELETE FROM refunds WHERE booking_id IN ({bookings})",
                f"DELETE FROM payments WHERE booking_id IN ({bookings})",
                f"DELETE FROM bookings WHERE id IN ({bookings})",
                "DELETE FROM merchants WHERE id = ANY(%(m)s)",
                "DELETE FROM idempotency_records WHERE caller LIKE 'user-%%'"
                " OR caller LIKE 'staff-%%'",
            ):
                self.sql.execute(statement, {"m": ids})


@pytest.fixture
def shops(sql: psycopg.Connection[Any]) -> Iterator[ShopFactory]:
    factory = ShopFactory(sql)
    yield factory
    factory.purge()


def token(
    subject: str,
    role: str = "customer",
    merchant_id: int | None = None,
    secret: str | None = None,
    **kw: Any,
) -> str:
    signing_key = secret or Settings().jwt_secret.get_secret_value()
    return mint_token(signing_key, subject, [role], merchant_id, **kw)


@dataclass
class Caller:
    """GraphQL over HTTP as one signed-in user."""

    gql: GraphQL
    bearer: str
    subject: str

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        return await self.gql(query, variables, Authorization=f"Bearer {self.bearer}")

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = await self(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def error_code(self, query: str, variables: dict[str, Any] | None = None) -> str:
        body = await self(query, variables)
        assert body.get("errors"), body
        return str(body["errors"][0]["extensions"]["code"])


@pytest.fixture
def customer(gql: GraphQL) -> Callable[[], Caller]:
    def make() -> Caller:
        subject = f"user-{uuid.uuid4().hex[:10]}"
        return Caller(gql, token(subject), subject)

    return make


@pytest.fixture
def staff(gql: GraphQL) -> Callable[[Shop], Caller]:
    def make(shop: Shop) -> Caller:
        subject = f"staff-{uuid.uuid4().hex[:10]}"
        return Caller(gql, token(subject, "merchant", shop.merchant_id), subject)

    return make
