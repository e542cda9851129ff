"""The in-process fan-out of live events: one bounded queue per subscription, keyed by topic.

Publishing never waits: an event goes into each interested queue with ``put_nowait``. A
subscriber whose queue is full has fallen behind; it is dropped from the hub at once (so it
can never hold anyone up) and its next read raises :class:`SubscriberTooSlowError`, which the
GraphQL layer turns into an error message ending that subscription. The hub also bounds how
many subscriptions one process serves.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from commerce.errors import UnavailableError
from commerce.live.events import LiveEvent, Topic

log = logging.getLogger("o2o.live")

SLOW_SUBSCRIBER: Final = "SLOW_SUBSCRIBER"


class SubscriberTooSlowError(UnavailableError):
    """The subscription's queue overflowed: events were lost, so the stream ends (the client
    subscribes again and reloads what it shows)."""

    def __init__(self, queue_size: int) -> None:
        super().__init__(
            f"this subscription fell more than {queue_size} events behind and was ended; "
            "subscribe again",
            code=SLOW_SUBSCRIBER,
        )


@dataclass(frozen=True, slots=True)
class Resync:
    """Put in every queue when the listener reconnected: events may have been missed, so a
    subscription that streams a state reloads it."""


Item = LiveEvent | Resync


@dataclass(frozen=True, slots=True)
class LiveConfig:
    """Bounds of the fan-out (events queued per subscription, subscriptions per process)
    and the pace of ``dealStock`` (at most one message per interval per subscription)."""

    queue_size: int = 100
    max_subscriptions: int = 10_000
    deal_stock_interval_s: float = 1.0


@dataclass(eq=False)
class Subscription:
    """What one GraphQL subscription receives. Read it with :meth:`get` / :meth:`drain`;
    leave the hub with :meth:`EventHub.leave` (done by ``async with hub.join(...)``)."""

    topics: tuple[Topic, ...]
    queue_size: int
    queue: asyncio.Queue[Item] = field(init=False)
    overflowed: bool = False

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(maxsize=self.queue_size)

    def offer(self, item: Item) -> bool:
        """Queue ``item`` without waiting; False (and overflowed) when the queue is full."""
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True
            return False
        return True

    async def get(self) -> Item:
        """The next item; raises :class:`SubscriberTooSlowError` once the queue has overflowed."""
        if self.overflowed:
            raise SubscriberTooSlowError(self.queue_size)
        return await self.queue.get()

    def drain(self) -> list[Item]:
        """Everything queued now, without waiting (to coalesce a burst into one message)."""
        if self.overflowed:
            raise SubscriberTooSlowError(self.queue_size)
        items: list[Item] = []
        while not self.queue.empty():
            items.append(self.queue.get_nowait())
        return items


class EventHub:
    """Topic -> subscriptions of this process. Used from the event loop's thread only."""

    def __init__(self, config: LiveConfig | None = None) -> None:
        self.config = config or LiveConfig()
        self._by_topic: dict[Topic, set[Subscription]] = defaultdict(set)
        self._count = 0
        self.published = 0
        self.dropped_subscribers = 0

    @property
    def subscriptions(self) -> int:
        return self._count

    def join(self, topics: Iterable[Topic]) -> HubMembership:
        """``async with hub.join(topics) as subscription``: in the hub while inside."""
        return HubMembership(self, tuple(topics))

    def add(self, topics: tuple[Topic, ...]) -> Subscription:
        if self._count >= self.config.max_subscriptions:
            raise UnavailableError(
                "this server has too many live subscriptions open; try again later"
            )
        subscription = Subscription(topics, self.config.queue_size)
        for topic in topics:
            self._by_topic[topic].add(subscription)
        self._count += 1
        return subscription

    def leave(self, subscription: Subscription) -> None:
        removed = False
        for topic in subscription.topics:
            members = self._by_topic.get(topic)
            if members is not None and subscription in members:
                members.discard(subscription)
                removed = True
                if not members:
                    del self._by_topic[topic]
        if removed:
            self._count -= 1

    def publish(self, event: LiveEvent) -> int:
        """Offer ``event`` to every subscription of its topics; the number that took it."""
        self.published += 1
        reached: set[Subscription] = set()
        for topic in event.topics():
            reached.update(self._by_topic.get(topic, ()))
        return sum(self._deliver(subscription, event) for subscription in reached)

    def resync(self) -> None:
        """Tell every subscription that events may have been missed (listener reconnected)."""
        everyone = {s for members in self._by_topic.values() for s in members}
        for subscription in everyone:
            self._deliver(subscription, Resync())

    def _deliver(self, subscription: Subscription, item: Item) -> bool:
        if subscription.offer(item):
            return True
        self.dropped_subscribers += 1
        log.warning("dropped a live subscriber %s: its queue is full", subscription.topics)
        self.leave(subscription)
        return False


class HubMembership:
    """The async context manager of :meth:`EventHub.join`."""

    def __init__(self, hub: EventHub, topics: tuple[Topic, ...]) -> None:
        self._hub = hub
        self._topics = topics
        self._subscription: Subscription | None = None

    async def __aenter__(self) -> Subscription:
        self._subscription = self._hub.add(self._topics)
        return self._subscription

    async def __aexit__(self, *exc_info: object) -> None:
        if self._subscription is not None:
            self._hub.leave(self._subscription)
