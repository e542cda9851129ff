"""The live funnel's counters: impressions and detail views, counted in memory, flushed often.

Discovery must not pay for the funnel, so nothing is written per request: each gateway
process adds to a dict keyed by (deal, UTC hour, channel, partner key) and a task of the
app's lifespan (:meth:`Funnel.run`) swaps the dict out and writes it every
``flush_interval_s`` with one additive upsert per chunk (``db/insights_sql.py``), and once
more on shutdown. Several processes add to the same rows; the upsert sums. A process that
crashes loses at most what it counted since its last flush (one interval). A flush that
fails puts its counts back for the next one; the dict holds at most ``max_keys`` keys, past
which new keys are dropped and counted in ``dropped`` (served in ``/metrics``).

The funnel also signs the attribution tokens of the results (:mod:`.attribution`). With
``enabled`` False it counts nothing and issues no tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from commerce.insights.attribution import (
    Channel,
    attribution_key,
    coupon_attribution_key,
    make_tokens,
)
from db import insights_sql
from db.database import Database
from db.insights_sql import CountRow

log = logging.getLogger("o2o.funnel")
HOUR_S = 3600
CountKey = tuple[int, int, str, int]  # deal id, hour (Unix seconds), channel, partner (0: none)


@dataclass(frozen=True, slots=True)
class FunnelConfig:
    enabled: bool = True
    flush_interval_s: float = 1.0
    max_keys: int = 200_000


@dataclass(slots=True)
class FunnelStats:
    flushes: int = 0
    failures: int = 0
    dropped: int = 0
    written_keys: int = 0


@dataclass(slots=True)
class Funnel:
    """One per process: the counters since the last flush and the token signer."""

    config: FunnelConfig
    secret: bytes
    stats: FunnelStats = field(default_factory=FunnelStats)
    _counts: dict[CountKey, list[int]] = field(default_factory=dict)
    _key: bytes = b""

    def __post_init__(self) -> None:
        self._key = attribution_key(self.secret)

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    @property
    def pending_keys(self) -> int:
        return len(self._counts)

    def _add(self, key: CountKey, impressions: int, views: int) -> None:
        slot = self._counts.get(key)
        if slot is not None:
            slot[0] += impressions
            slot[1] += views
        elif len(self._counts) < self.config.max_keys:
            self._counts[key] = [impressions, views]
        else:
            self.stats.dropped += impressions + views

    def impressions(
        self, deal_ids: Iterable[int], channel: Channel, partner_key_id: int | None
    ) -> None:
        """Each deal of one result was shown once."""
        if not self.config.enabled:
            return
        hour = int(time.time()) // HOUR_S * HOUR_S
        name, partner = channel.value, partner_key_id or 0
        for deal_id in deal_ids:
            self._add((deal_id, hour, name, partner), 1, 0)

    def detail_view(self, deal_id: int, partner_key_id: int | None) -> None:
        """The deal was looked up by id (``deal(id:)`` or ``node``)."""
        if not self.config.enabled:
            return
        hour = int(time.time()) // HOUR_S * HOUR_S
        self._add((deal_id, hour, Channel.DIRECT.value, partner_key_id or 0), 0, 1)

    def tokens(
        self, deal_ids: Iterable[int], channel: Channel, partner_key_id: int | None
    ) -> list[str | None]:
        """One attribution token per deal (None each when the funnel is off)."""
        ids = list(deal_ids)
        if not self.config.enabled:
            return [None] * len(ids)
        return list(make_tokens(self._key, ids, channel, partner_key_id, int(time.time())))

    def coupon_tokens(
        self, coupon_ids: Iterable[int], channel: Channel, partner_key_id: int | None
    ) -> list[str | None]:
        """One attribution token per coupon (None each when the funnel is off); no
        impression is counted (the funnel's impressions are of deals)."""
        ids = list(coupon_ids)
        if not self.config.enabled:
            return [None] * len(ids)
        key = coupon_attribution_key(self.secret)
        return list(make_tokens(key, ids, channel, partner_key_id, int(time.time())))

    def take(self) -> list[CountRow]:
        """The counts since the last call, as rows; the counters start again from zero."""
        counts, self._counts = self._counts, {}
        return [
            CountRow(deal, hour, channel, partner, imps, views)
            for (deal, hour, channel, partner), (imps, views) in counts.items()
        ]

    def put_back(self, rows: Iterable[CountRow]) -> None:
        """Counts a failed flush could not write: added to the next one."""
        for row in rows:
            self._add(
                (row.deal_id, row.hour, row.channel, row.partner_key_id),
                row.impressions,
                row.detail_views,
            )

    async def flush(self, database: Database) -> int:
        """Write what was counted since the last flush; the number of keys written."""
        rows = self.take()
        if not rows:
            return 0
        try:
            async with database.write() as conn:
                await insights_sql.add_counts(conn, rows)
        except Exception:
            self.stats.failures += 1
            self.put_back(rows)
            raise
        self.stats.flushes += 1
        self.stats.written_keys += len(rows)
        return len(rows)

    async def run(self, database: Database, stop: asyncio.Event) -> None:
        """Flush every ``flush_interval_s`` until ``stop``, then once more."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.config.flush_interval_s)
            try:
                await self.flush(database)
            except Exception as error:  # keep counting; the next flush retries
                log.warning("could not flush the funnel counters: %s", error)
