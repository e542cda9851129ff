"""Who may read ``Merchant.insights`` and which periods it refuses."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.insights.journey import INSIGHTS, period
from tests.orders.fixtures import Caller, Shop, ShopFactory, token


def staff(
    gql: GraphQL, shop: Shop, role: str, store: int | None = None, merchant: int | None = None
) -> Caller:
    subject = f"staff-{role}-{uuid.uuid4().hex[:8]}"
    bearer = token(
        subject, "merchant", merchant or shop.merchant_id, staff_role=role, store_id=store
    )
    return Caller(gql, bearer, subject)


async def ask(who: Caller | GraphQL, shop: Shop, **variables: Any) -> dict[str, Any]:
    values = {"id": shop.merchant, **period(), **variables}
    body: dict[str, Any] = await who(INSIGHTS, values)
    return body


def code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors")
    return None if not errors else str(errors[0]["extensions"]["code"])


async def test_staff_see_insights_and_nobody_else(
    gql: GraphQL, shops: ShopFactory, customer: Callable[[], Caller]
) -> None:
    shop, rival = shops(stores=2), shops()
    here, there = shop.store_ids
    assert code(await ask(gql, shop)) == "UNAUTHENTICATED"
    assert code(await ask(customer(), shop)) == "FORBIDDEN"
    assert code(await ask(staff(gql, rival, "owner"), shop)) == "FORBIDDEN"
    for role in ("owner", "manager", "cashier"):
        assert code(await ask(staff(gql, shop, role), shop)) is None, role
    bound = staff(gql, shop, "cashier", store=here)
    assert code(await ask(bound, shop)) == "FORBIDDEN"  # the whole merchant
    assert code(await ask(bound, shop, storeId=to_global_id("Store", there))) == "FORBIDDEN"
    assert code(await ask(bound, shop, storeId=to_global_id("Store", here))) is None


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        (
            {"granularity": "HOUR", "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"},
            "to",
        ),
        (
            {"granularity": "DAY", "from": "2025-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
            "to",
        ),
        ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
    ],
)
async def test_periods_are_bounded(
    gql: GraphQL, shops: ShopFactory, variables: dict[str, str], field: str
) -> None:
    shop = shops()
    body = await ask(staff(gql, shop, "owner"), shop, **variables)
    assert code(body) == "BAD_USER_INPUT", body
    assert body["errors"][0]["extensions"].get("argument") == field


async def test_a_long_period_in_weeks_is_fine_and_foreign_ids_are_refused(
    gql: GraphQL, shops: ShopFactory
) -> None:
    shop, rival = shops(), shops()
    owner = staff(gql, shop, "owner")
    now = datetime.now(UTC)
    weeks = {"from": (now - timedelta(weeks=390)).isoformat(), "to": now.isoformat()}
    body = await ask(owner, shop, granularity="WEEK", **weeks)
    assert code(body) is None, body
    assert 390 <= len(body["data"]["merchant"]["insights"]["buckets"]) <= 392
    assert code(await ask(owner, shop, storeId=rival.store)) == "BAD_USER_INPUT"
    assert code(await ask(owner, shop, dealId=rival.deal)) == "BAD_USER_INPUT"
