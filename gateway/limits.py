"""Shared fixed-window counters in Redis: one atomic check-and-add per charge.

Each budget (a key's requests, a key's query cost, an anonymous client's requests) counts
in a Redis key named after the budget and the window's number, which expires with the
window. The Lua script adds the amount only when it fits, so a refused request does not
use up the next one's budget, and every gateway process shares the same counts.

Redis down or slow: fail open. The request is served uncounted and a warning is logged
(at most once per window): an outage of the limiter must not become an outage of the API.
After a failure Redis is left alone for ``RETRY_AFTER_FAILURE_S``, so a Redis that hangs
costs one timeout per second per process, not one per request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from commerce.partners.api_keys import Verdict, window_at

log = logging.getLogger("o2o.limits")
RETRY_AFTER_FAILURE_S = 1.0

# KEYS[1] counter; ARGV amount, limit, ttl ms. Returns {1, count} when added, {0, count} when
# it would not fit (count: the window's total after the call).
_CHECK_AND_ADD = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if current + amount > tonumber(ARGV[2]) then return {0, current} end
local total = redis.call('INCRBY', KEYS[1], amount)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, total}
"""


class Limiter:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        window_seconds: int,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.window_seconds = window_seconds
        self._clock = clock
        self._script = redis.register_script(_CHECK_AND_ADD)
        self._monotonic = monotonic
        self._warned_window = -1
        self._skip_until = 0.0  # after a failure, fail open without asking Redis until then

    async def take(self, budget: str, amount: int, limit: int) -> Verdict:
        """Add ``amount`` to this window's count of ``budget`` if it stays within ``limit``."""
        window = window_at(self._clock(), self.window_seconds)
        counter = f"{self.prefix}:{budget}:{window.number}"
        ttl_ms = (window.retry_after + 1) * 1000
        if self._monotonic() < self._skip_until:
            return Verdict(degraded=True)
        try:
            added, count = await self._script(keys=[counter], args=[amount, limit, ttl_ms])
        except (RedisError, OSError) as error:
            self._skip_until = self._monotonic() + RETRY_AFTER_FAILURE_S
            if self._warned_window != window.number:
                self._warned_window = window.number
                log.warning("rate limits are not enforced: Redis is unavailable: %s", error)
            return Verdict(degraded=True)
        return Verdict(
            retry_after=None if int(added) == 1 else window.retry_after,
            limit=limit,
            remaining=max(0, limit - int(count)),
            reset_after=window.retry_after,
        )

    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.redis.aclose()


def limiter_from(url: str, prefix: str, window_seconds: int, timeout_s: float) -> Limiter:
    redis = Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),  # fail open at once rather than retry per request
    )
    return Limiter(redis, prefix, window_seconds)
