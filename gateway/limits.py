"""Shared fixed-window counters in Redis: one atomic check-and-add per charge.

Each budget (a key's requests, a key's query cost, an anonymous client's requests) counts
in a Redis key named after the budget and the window's number, which expires with the
window. The Lua script adds the amount only when it fits, so a refused request does not
use up the next one's budget, and every gateway process shares the same counts.

Redis down or slow: fail open. The request is served uncounted and a warning is logged
(at most once per window): an outage of the limiter must not become an outage of the API.
After a failure Redis is left alone for ``RETRY_AFTER_FAILURE_S``, so a Redis that hangs
costs one timeout per second per process, not one per request.

Local allowances: for budgets of at least ``MIN_LIMIT_FOR_ALLOWANCE`` a process reserves a
share of the limit (``limit // allowance_share``) in the shared counter along with the charge
that needs it, and spends it locally: most charges make no Redis round trip, and the next
share is reserved in the background when half of this one is spent. The shared budget
holds: everything spent was reserved in Redis first, so all processes together never admit
more than the limit. The price is under-admission near the limit: at most one unspent share
per process and budget is lost when the window ends, and a process without a share of its
own is refused while another still holds one (near the limit, reservations fall back to the
exact amount).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from commerce.partners.api_keys import Verdict, window_at

log = logging.getLogger("o2o.limits")
RETRY_AFTER_FAILURE_S = 1.0
MIN_LIMIT_FOR_ALLOWANCE = 200
DEFAULT_ALLOWANCE_SHARE = 50

# KEYS[1] counter; ARGV wanted, limit, ttl ms, least. Adds ``wanted`` when it fits, else
# ``least`` when that fits. Returns {added, count}: added 0 when nothing fitted (count: the
# window's total after the call).
_CHECK_AND_ADD = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit = tonumber(ARGV[2])
local take = tonumber(ARGV[1])
if current + take > limit then take = tonumber(ARGV[4]) end
if current + take > limit then return {0, current} end
local total = redis.call('INCRBY', KEYS[1], take)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {take, total}
"""


@dataclass
class _Allowance:
    """What this process reserved of one budget in one window, and spent of it."""

    window: int
    granted: int
    used: int
    count: int  # the shared total after this process's last reservation
    refilling: bool = False


class Limiter:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        window_seconds: int,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        allowance_share: int = DEFAULT_ALLOWANCE_SHARE,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.window_seconds = window_seconds
        self._clock = clock
        self._script = redis.register_script(_CHECK_AND_ADD)
        self._monotonic = monotonic
        self._warned_window = -1
        self._skip_until = 0.0  # after a failure, fail open without asking Redis until then
        self.allowance_share = allowance_share  # 0: every charge asks Redis
        self._allowances: dict[str, _Allowance] = {}
        self._allowance_window = -1
        self._refills: set[asyncio.Task[None]] = set()
        self.round_trips = 0

    async def take(self, budget: str, amount: int, limit: int) -> Verdict:
        """Add ``amount`` to this window's count of ``budget`` if it stays within ``limit``."""
        window = window_at(self._clock(), self.window_seconds)
        share = limit // self.allowance_share if self.allowance_share else 0
        if limit < MIN_LIMIT_FOR_ALLOWANCE or share < 1:
            share = 0
        spent = self._spend_local(budget, amount, limit, window.number, share)
        if spent is not None:
            return Verdict(limit=limit, remaining=spent, reset_after=window.retry_after)
        result = await self._reserve(budget, amount + share, amount, limit, window.number)
        if result is None:
            return Verdict(degraded=True)
        added, count = result
        if added and share:
            before = self._allowances.get(budget)
            left = before.granted - before.used if before is not None else 0
            refilling = before is not None and before.refilling
            self._allowances[budget] = _Allowance(
                window.number, added + left, amount, count, refilling
            )
        return Verdict(
            retry_after=None if added else window.retry_after,
            limit=limit,
            remaining=max(0, limit - count + (added - amount if added else 0)),
            reset_after=window.retry_after,
        )

    def _spend_local(
        self, budget: str, amount: int, limit: int, window: int, share: int
    ) -> int | None:
        """Spend from this process's allowance; what remains of the budget, or ``None``."""
        if window != self._allowance_window:
            self._allowances.clear()  # reservations of past windows are gone with them
            self._allowance_window = window
        allowance = self._allowances.get(budget)
        if share == 0 or allowance is None or allowance.used + amount > allowance.granted:
            return None
        allowance.used += amount
        left = allowance.granted - allowance.used
        if left < share // 2 + 1 and not allowance.refilling:
            allowance.refilling = True
            task = asyncio.create_task(self._refill(budget, allowance, share, limit))
            self._refills.add(task)
            task.add_done_callback(self._refills.discard)
        return max(0, limit - allowance.count + left)

    async def _refill(self, budget: str, allowance: _Allowance, share: int, limit: int) -> None:
        """Reserve the next share in the background (all of it or nothing); it goes to the
        budget's allowance of the moment (a charge may have replaced it meanwhile)."""
        result = await self._reserve(budget, share, share, limit, allowance.window)
        current = self._allowances.get(budget)
        if current is None or current.window != allowance.window:
            return  # the window ended: what was reserved in it is gone with it
        current.refilling = False
        if result is not None and result[0]:
            current.granted += result[0]
            current.count = max(current.count, result[1])

    async def _reserve(
        self, budget: str, wanted: int, least: int, limit: int, window_number: int
    ) -> tuple[int, int] | None:
        """Add ``wanted`` (else ``least``) to the shared count: (added, count), None if down."""
        if self._monotonic() < self._skip_until:
            return None
        window = window_at(self._clock(), self.window_seconds)
        counter = f"{self.prefix}:{budget}:{window_number}"
        ttl_ms = (window.retry_after + 1) * 1000
        self.round_trips += 1
        try:
            added, count = await self._script(keys=[counter], args=[wanted, limit, ttl_ms, least])
        except (RedisError, OSError) as error:
            self._skip_until = self._monotonic() + RETRY_AFTER_FAILURE_S
            if self._warned_window != window_number:
                self._warned_window = window_number
                log.warning("rate limits are not enforced: Redis is unavailable: %s", error)
            return None
        return int(added), int(count)

    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.redis.aclose()


def limiter_from(
    url: str,
    prefix: str,
    window_seconds: int,
    timeout_s: float,
    allowance_share: int = DEFAULT_ALLOWANCE_SHARE,
) -> Limiter:
    redis = Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),  # fail open at once rather than retry per request
    )
    return Limiter(redis, prefix, window_seconds, allowance_share=allowance_share)
