"""The one LISTEN loop of a gateway process: payloads in, events out to the hub, and back on
its feet with exponential backoff whenever PostgreSQL goes away (a restart, a failover).

After a reconnect the hub is told to resync: notifications sent while nobody listened are
gone (NOTIFY is not a log), so state streams reload what they show. Partner-key changes
(migration 0018) go to the process's key cache instead of the hub, and every (re)connect
clears that cache for the same reason. The loop runs as a task
of the app's lifespan and ends when that task is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from commerce.live.events import parse_event
from commerce.live.hub import EventHub
from commerce.partners.keys import KeyCache, key_change_of
from db.listen import listen

log = logging.getLogger("o2o.live")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits between attempts: ``first_s``, doubled after each failed attempt, at most
    ``max_s``; back to ``first_s`` once a connection has listened."""

    first_s: float = 0.2
    max_s: float = 15.0
    factor: float = 2.0

    def after(self, delay: float) -> float:
        return min(self.max_s, delay * self.factor)


@dataclass
class ListenerState:
    """What /metrics and the tests can see of the loop."""

    listening: asyncio.Event = field(default_factory=asyncio.Event)
    connections: int = 0
    failures: int = 0
    ignored_payloads: int = 0


async def run_listener(
    url: str,
    hub: EventHub,
    state: ListenerState,
    backoff: Backoff | None = None,
    keys: KeyCache | None = None,
) -> None:
    """Listen until cancelled; connection errors are logged and retried, never raised."""
    backoff = backoff or Backoff()
    delay = backoff.first_s
    while True:
        try:
            await _listen_once(url, hub, state, keys)
        except Exception as error:
            state.failures += 1
            log.warning("live listener lost PostgreSQL (%s); retrying in %.1f s", error, delay)
        if state.listening.is_set():  # it had connected: start the backoff over
            state.listening.clear()
            delay = backoff.first_s
        await asyncio.sleep(delay)
        delay = backoff.after(delay)


async def _listen_once(
    url: str, hub: EventHub, state: ListenerState, keys: KeyCache | None
) -> None:
    """One connection's life: publish every payload until the line breaks (then raise)."""

    def listening() -> None:
        state.connections += 1
        if keys is not None:  # changes made while nobody listened were not heard
            keys.clear()
        state.listening.set()
        if state.connections > 1:  # a reconnect: anything sent meanwhile is lost
            hub.resync()
        log.info("live listener is listening (connection %d)", state.connections)

    async for payload in listen(url, on_listening=listening):
        key_id = key_change_of(payload) if keys is not None else None
        if keys is not None and key_id is not None:
            keys.forget(key_id)
            continue
        event = parse_event(payload)
        if event is None:
            state.ignored_payloads += 1
            continue
        hub.publish(event)
