"""Fair limits: signed-in callers per subject, anonymous per IP, keys their own; every counted
response carries the IETF RateLimit fields, and a 429 names the budget that ran out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from gateway.settings import Settings
from tests.conftest import LIMIT_PREFIX, gateway_settings
from tests.orders.fixtures import token
from tests.partners.fixtures import serve_gateway

WINDOW_S = 60
ANONYMOUS_RATE = 3
SIGNED_IN_RATE = 4
QUERY = {"query": "{ categories { slug } }"}


@pytest.fixture(scope="module")
def fair_gateway(settings: Settings) -> Iterator[str]:
    yield from serve_gateway(
        gateway_settings(
            settings.database_url,
            settings.elasticsearch_url,
            rate_limit_window_seconds=WINDOW_S,
            rate_limit_prefix=f"{LIMIT_PREFIX}:fair:{time.time_ns()}",
            anonymous_rate_per_minute=ANONYMOUS_RATE,
            signed_in_rate_per_minute=SIGNED_IN_RATE,
        )
    )


@pytest.fixture
async def fair(fair_gateway: str) -> AsyncIterator[httpx.AsyncClient]:
    left = WINDOW_S - time.time() % WINDOW_S
    if left < 10:  # the whole test runs inside one counting window
        await asyncio.sleep(left + 0.05)
    async with httpx.AsyncClient(base_url=fair_gateway, timeout=30) as http:
        yield http


def bearer(subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(subject)}"}


async def test_signed_in_callers_behind_one_address_have_budgets_of_their_own(
    fair: httpx.AsyncClient,
) -> None:
    anonymous = [await fair.post("/graphql", json=QUERY) for _ in range(ANONYMOUS_RATE + 1)]
    assert [r.status_code for r in anonymous] == [200] * ANONYMOUS_RATE + [429]
    alice = [
        await fair.post("/graphql", json=QUERY, headers=bearer("fair-alice"))
        for _ in range(SIGNED_IN_RATE + 1)
    ]
    assert [r.status_code for r in alice] == [200] * SIGNED_IN_RATE + [429]
    bob = await fair.post("/graphql", json=QUERY, headers=bearer("fair-bob"))
    assert bob.status_code == 200
    assert bob.headers["RateLimit-Limit"] == str(SIGNED_IN_RATE)
    assert bob.headers["RateLimit-Remaining"] == str(SIGNED_IN_RATE - 1)


async def test_counted_responses_carry_the_ratelimit_fields(fair: httpx.AsyncClient) -> None:
    headers = bearer("fair-carol")
    first, second = [await fair.post("/graphql", json=QUERY, headers=headers) for _ in range(2)]
    assert first.headers["RateLimit-Limit"] == str(SIGNED_IN_RATE)
    remaining = [int(r.headers["RateLimit-Remaining"]) for r in (first, second)]
    assert remaining == [SIGNED_IN_RATE - 1, SIGNED_IN_RATE - 2]
    reset = int(second.headers["RateLimit-Reset"])
    assert 1 <= reset <= WINDOW_S


async def test_a_429_names_the_budget_and_when_it_resets(fair: httpx.AsyncClient) -> None:
    headers = bearer("fair-dave")
    answers = [await fair.post("/graphql", json=QUERY, headers=headers) for _ in range(5)]
    refused = answers[-1]
    assert refused.status_code == 429
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["budget"] == "requests"
    retry_after = error["extensions"]["retryAfter"]
    assert refused.headers["Retry-After"] == str(retry_after)
    assert f"resets in {retry_after} s" in error["message"]
    assert refused.headers["RateLimit-Remaining"] == "0"


async def test_a_partner_key_keeps_its_own_budget(
    fair: httpx.AsyncClient, make_key: Callable[..., str]
) -> None:
    key = make_key(rate=7)
    answer = await fair.post("/graphql", json=QUERY, headers={"X-API-Key": key})
    assert answer.status_code == 200
    assert answer.headers["RateLimit-Limit"] == "7"
    assert answer.headers["RateLimit-Remaining"] == "6"
