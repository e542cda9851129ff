"""The dedicated ``LISTEN`` connection of a gateway process (live events, migration 0009).

It is a plain psycopg connection outside the SQLAlchemy pool: a pooled connection would be
handed to other requests, and notifications arrive only on the connection that listens. The
caller (``commerce.live.listener``) owns the reconnecting; this module only opens, listens,
checks that the server is still there when the line is quiet, and yields payloads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import psycopg

LIVE_CHANNEL = "o2o_live"  # the channel migration 0009's triggers notify


async def listen(
    url: str,
    *,
    on_listening: Callable[[], None],
    idle_check_s: float = 15.0,
    connect_timeout_s: int = 5,
) -> AsyncIterator[str]:
    """Connect to ``url``, ``LISTEN`` on the live channel, call ``on_listening`` once the
    server has confirmed, then yield each notification's payload as it arrives.

    When nothing arrives for ``idle_check_s`` a ``SELECT 1`` proves the connection alive, so
    a vanished server ends the iteration with :class:`psycopg.OperationalError` instead of
    waiting forever. Ends only by raising (or by the consumer closing the generator)."""
    conn = await psycopg.AsyncConnection.connect(
        url,
        autocommit=True,
        connect_timeout=connect_timeout_s,
        application_name="o2o-gateway-live",
        keepalives=1,
        keepalives_idle=30,
        keepalives_interval=10,
        keepalives_count=3,
    )
    async with conn:
        await conn.execute(f"LISTEN {LIVE_CHANNEL}")
        on_listening()
        while True:
            received = False
            async for notify in conn.notifies(timeout=idle_check_s):
                received = True
                yield notify.payload
            if not received:
                await conn.execute("SELECT 1")
