"""Local allowances of the Redis limiter: fewer round trips, the shared budget still holds.

Two limiters on one Redis play two gateway processes charging the same budget.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from gateway.limits import Limiter

WINDOW_S = 3600  # one window for the whole test


@pytest.fixture
async def processes() -> AsyncIterator[tuple[Limiter, Limiter]]:
    prefix = f"o2o-test-allowance-{uuid.uuid4().hex[:12]}"
    first, second = Redis(), Redis()
    try:
        yield Limiter(first, prefix, WINDOW_S), Limiter(second, prefix, WINDOW_S)
    finally:
        names = [name async for name in first.scan_iter(match=f"{prefix}:*")]
        if names:
            await first.delete(*names)
        await first.aclose()
        await second.aclose()


async def admitted(limiter: Limiter, budget: str, amount: int, limit: int) -> bool:
    verdict = await limiter.take(budget, amount, limit)
    await asyncio.sleep(0)  # let a background refill run, as between requests
    return verdict.retry_after is None


async def test_two_processes_never_admit_more_than_the_limit(
    processes: tuple[Limiter, Limiter],
) -> None:
    a, b = processes
    limit, total, trips_while_admitting = 1000, 0, None
    for step in range(2000):
        limiter, amount = (a, 1) if step % 3 else (b, 7)
        if await admitted(limiter, "key:1:cost", amount, limit):
            total += amount
        elif trips_while_admitting is None:  # refusals ask Redis whether room came back
            trips_while_admitting = (a.round_trips + b.round_trips, step)
    await asyncio.sleep(0.05)
    assert limit - 2 * (limit // 50) - 7 <= total <= limit
    assert trips_while_admitting is not None
    trips, charges = trips_while_admitting
    assert trips < charges / 5


async def test_small_budgets_are_counted_exactly(processes: tuple[Limiter, Limiter]) -> None:
    a, b = processes
    results = [await admitted(a if i % 2 else b, "ip:x:requests", 1, 50) for i in range(60)]
    assert results == [True] * 50 + [False] * 10
    assert a.round_trips + b.round_trips == 60


async def test_remaining_counts_down_one_by_one(processes: tuple[Limiter, Limiter]) -> None:
    a, _ = processes
    remaining = [(await a.take("key:2:requests", 1, 600)).remaining for _ in range(5)]
    assert remaining == [599, 598, 597, 596, 595]
