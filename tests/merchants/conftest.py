"""Fixtures of the merchant-side tests: merchants made through ``createMerchant`` by an
admin (purged after the test), staff tokens of every role, and GraphQL callers with them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from gateway.auth import mint_token
from gateway.settings import Settings
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.helpers import decode_id

CREATE_MERCHANT = """
mutation($input: CreateMerchantInput!) {
  createMerchant(input: $input) {
    __typename
    ... on MerchantSaved { merchant { id name category { slug } } }
    ... on InvalidInput { message field }
    ... on NotAllowed { message }
  }
}"""

STORE_FIELDS = """
  id name address timezone openingHours version location { lat lng }
  specialHours { date hours } merchant { id }
"""
STORE_RESULT = f"""
    __typename
    ... on StoreSaved {{ store {{ {STORE_FIELDS} }} }}
    ... on InvalidInput {{ message field }}
    ... on VersionConflict {{ message currentVersion }}
"""
CREATE_STORE = f"""
mutation($input: CreateStoreInput!) {{ createStore(input: $input) {{ {STORE_RESULT} }} }}"""
UPDATE_STORE = f"""
mutation($input: UpdateStoreInput!) {{ updateStore(input: $input) {{ {STORE_RESULT} }} }}"""
SET_SPECIAL_HOURS = f"""
mutation($input: SetSpecialHoursInput!) {{ setSpecialHours(input: $input) {{ {STORE_RESULT} }} }}"""

# Kerguelen, far from every seeded place: discovery tests elsewhere never see these stores.
KERGUELEN = {"lat": -49.3496, "lng": 70.2197}


def token(subject: str, roles: list[str], merchant_id: int | None = None, **kw: Any) -> str:
    secret = Settings().jwt_secret.get_secret_value()
    return mint_token(secret, subject, roles, merchant_id, **kw)


@dataclass
class As:
    """GraphQL over HTTP as one caller (no token: anonymous)."""

    gql: GraphQL
    bearer: str | None = None

    async def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        headers = {} if self.bearer is None else {"Authorization": f"Bearer {self.bearer}"}
        return await self.gql(query, variables, **headers)

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        body = await self(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self(query, variables)
        assert body.get("errors"), body
        first: dict[str, Any] = body["errors"][0]
        return first


@dataclass
class Merchant:
    id: int
    gql: GraphQL

    @property
    def gid(self) -> str:
        return to_global_id("Merchant", self.id)

    def staff(self, role: str | None, store: int | None = None, subject: str = "") -> As:
        """A staff member of this merchant (role None: a token without staff_role)."""
        who = subject or f"staff-{role}-{uuid.uuid4().hex[:8]}"
        bearer = token(who, ["merchant"], self.id, staff_role=role, store_id=store)
        return As(self.gql, bearer)

    async def store(self, **fields: Any) -> dict[str, Any]:
        """A new store made by the owner (Kerguelen, Helsinki time, open 24/7 by default)."""
        values = {
            "merchantId": self.gid,
            "name": "Test store",
            "location": KERGUELEN,
            "timeZone": "Europe/Helsinki",
            "openingHours": "24/7",
            **fields,
        }
        data = await self.staff("owner").data(CREATE_STORE, {"input": values})
        result: dict[str, Any] = data["createStore"]
        assert result["__typename"] == "StoreSaved", result
        store: dict[str, Any] = result["store"]
        return store


@dataclass
class Merchants:
    """Makes merchants through createMerchant as an admin; removes them after the test."""

    gql: GraphQL
    sql: psycopg.Connection[Any]
    ids: list[int] = field(default_factory=list)

    @property
    def admin(self) -> As:
        return As(self.gql, token("admin-1", ["admin"]))

    async def __call__(self, name: str = "", owner: str | None = None) -> Merchant:
        variables = {
            "input": {
                "name": name or f"Test merchant {uuid.uuid4().hex[:8]}",
                "categorySlug": self.category(),
                "ownerSubject": owner,
            }
        }
        result = (await self.admin.data(CREATE_MERCHANT, variables))["createMerchant"]
        assert result["__typename"] == "MerchantSaved", result
        merchant_id = decode_id(result["merchant"]["id"])
        self.ids.append(merchant_id)
        return Merchant(merchant_id, self.gql)

    def category(self) -> str:
        row = self.sql.execute("SELECT slug FROM categories ORDER BY slug LIMIT 1").fetchone()
        assert row is not None
        return str(row[0])

    def adopt(self, merchant_id: int) -> None:
        """Remove this merchant (made another way) after the test too."""
        self.ids.append(merchant_id)

    def purge(self) -> None:
        # stores, special hours, deals and their links go with the merchant (ON DELETE CASCADE);
        # the audit rows stay: they are append-only
        self.sql.execute("DELETE FROM merchants WHERE id = ANY(%s)", [self.ids])


@pytest.fixture
def merchants(gql: GraphQL, sql: psycopg.Connection[Any]) -> Iterator[Merchants]:
    factory = Merchants(gql, sql)
    yield factory
    factory.purge()
