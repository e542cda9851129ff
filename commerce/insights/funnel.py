"""The live funnel's counters: impressions and detail views, counted in memory, flushed often.

Discovery must not pay for the funnel, so nothing is written per request: each gateway
process adds to counters per (UTC hour, channel, partner key) and deal, and a task of the
app's lifespan (:meth:`Funnel.run`) swaps them out and writes them every
``flush_interval_s`` with one additive upsert per chunk (``db/insights_sql.py``), and once
more on shutdown. Several processes add to the same rows; the upsert sums. A process that
crashes loses at most what it counted since its last flush (one interval). A flush that
fails puts its counts back for the next one; the counters hold at most ``max_keys`` keys,
past which new keys are dropped and counted in ``dropped`` (served in ``/metrics``).

The funnel also signs the attribution tokens of the results (:mod:`.attribution`). With
``enabled`` False it counts nothing and issues no tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import repeat

from commerce.insights.attribution import (
    Channel,
    attribution_key,
    coupon_attribution_key,
    make_tokens,
)
from db import insights_sql
from db.database import Database
from db.insights_sql import CountColumns

log = logging.getLogger("o2o.funnel")
HOUR_S = 3600
Group = tuple[int, str, int]  # hour (Unix seconds), channel, partner key (0: none)


@dataclass(frozen=True, slots=True)
class FunnelConfig:
    enabled: bool = True
    flush_interval_s: float = 1.0
    max_keys: int = 200_000  # counters held between flushes


@dataclass(slots=True)
class FunnelStats:
    flushes: int = 0
    failures: int = 0
    dropped: int = 0
    written_keys: int = 0


@dataclass(slots=True)
class _Counters:
    """Counts since the last flush: per (hour, channel, partner), deal id -> count, apart for
    impressions and detail views. A result's impressions are one ``Counter.update`` (a loop in
    C); ``keys`` is how many counters both hold."""

    impressions: dict[Group, Counter[int]] = field(default_factory=dict)
    views: dict[Group, Counter[int]] = field(default_factory=dict)
    keys: int = 0

    def columns(self) -> CountColumns:
        """The counts as rows in lock order (:class:`db.insights_sql.CountColumns`), a
        deal's impressions and views of one group in one row."""
        counts = CountColumns([], [], [], [], [], [])
        for group in sorted(self.impressions.keys() | self.views.keys()):
            _add_group(counts, group, self.impressions.get(group), self.views.get(group))
        return counts


def _add_group(
    counts: CountColumns,
    group: Group,
    impressions: Counter[int] | None,
    views: Counter[int] | None,
) -> None:
    shown, viewed = impressions or Counter[int](), views or Counter[int]()
    deals = sorted(shown.keys() | viewed.keys()) if viewed else sorted(shown)
    hour, channel, partner = group
    counts.deals.extend(deals)
    counts.hours.extend(repeat(hour, len(deals)))
    counts.channels.extend(repeat(channel, len(deals)))
    counts.partners.extend(repeat(partner, len(deals)))
    counts.impressions.extend(map(shown.get, deals, repeat(0)))
    counts.views.extend(map(viewed.get, deals, repeat(0)))


@dataclass(slots=True)
class Funnel:
    """One per process: the counters since the last flush and the token signer."""

    config: FunnelConfig
    secret: bytes
    stats: FunnelStats = field(default_factory=FunnelStats)
    _counters: _Counters = field(default_factory=_Counters)
    _key: bytes = b""

    def __post_init__(self) -> None:
        self._key = attribution_key(self.secret)

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    @property
    def pending_counters(self) -> int:
        return self._counters.keys

    def _add(
        self, counters: dict[Group, Counter[int]], group: Group, ids: list[int], n: int
    ) -> None:
        """Count ``n`` for each of ``ids`` in ``group``; past ``max_keys`` counters, counts
        of new ones are dropped (and counted in ``stats.dropped``)."""
        counter = counters.get(group)
        if counter is None:
            counter = counters[group] = Counter()
        held, before = self._counters.keys, len(counter)
        if n == 1 and held + len(ids) <= self.config.max_keys:
            counter.update(ids)
            self._counters.keys = held + len(counter) - before
            return
        for deal_id in ids:
            if deal_id in counter:
                counter[deal_id] += n
            elif self._counters.keys < self.config.max_keys:
                counter[deal_id] = n
                self._counters.keys += 1
            else:
                self.stats.dropped += n

    def impressions(
        self, deal_ids: Iterable[int], channel: Channel, partner_key_id: int | None
    ) -> None:
        """Each deal of one result was shown once."""
        if not self.config.enabled:
            return
        hour = int(time.time()) // HOUR_S * HOUR_S
        group = (hour, channel.value, partner_key_id or 0)
        self._add(self._counters.impressions, group, list(deal_ids), 1)

    def detail_view(self, deal_id: int, partner_key_id: int | None) -> None:
        """The deal was looked up by id (``deal(id:)`` or ``node``)."""
        if not self.config.enabled:
            return
        hour = int(time.time()) // HOUR_S * HOUR_S
        group = (hour, Channel.DIRECT.value, partner_key_id or 0)
        self._add(self._counters.views, group, [deal_id], 1)

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

    def take(self) -> CountColumns:
        """The counts since the last call; the counters start again from zero."""
        counters, self._counters = self._counters, _Counters()
        return counters.columns()

    def put_back(self, counts: CountColumns) -> None:
        """Counts a failed flush could not write: added to the next one."""
        rows = zip(
            counts.deals, counts.hours, counts.channels, counts.partners,
            counts.impressions, counts.views, strict=True,
        )  # fmt: skip
        for deal_id, hour, channel, partner, impressions, views in rows:
            group = (hour, channel, partner)
            if impressions:
                self._add(self._counters.impressions, group, [deal_id], impressions)
            if views:
                self._add(self._counters.views, group, [deal_id], views)

    async def flush(self, database: Database) -> int:
        """Write what was counted since the last flush; the number of keys written."""
        counts = self.take()
        if not counts:
            return 0
        try:
            async with database.write() as conn:
                await insights_sql.add_counts(conn, counts)
        except Exception:
            self.stats.failures += 1
            self.put_back(counts)
            raise
        self.stats.flushes += 1
        self.stats.written_keys += len(counts)
        return len(counts)

    async def run(self, database: Database, stop: asyncio.Event) -> None:
        """Flush every ``flush_interval_s`` until ``stop``, then once more."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.config.flush_interval_s)
            try:
                await self.flush(database)
            except Exception as error:  # keep counting; the next flush retries
                log.warning("could not flush the funnel counters: %s", error)
