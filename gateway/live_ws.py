"""The WebSocket edge of live events: who opens a graphql-transport-ws connection, and how
many each caller may hold.

- The token travels in the ``connection_init`` payload, as browsers cannot set handshake
  headers: ``{"Authorization": "Bearer <JWT>"}`` (any letter case) or ``{"token": "<JWT>"}``.
  A handshake ``Authorization`` header works too. A bad token closes the socket with 4403;
  no token at all is an anonymous connection (``dealStock`` is public).
- Each subscription checks its own permission again when it starts (``schema.live``).
- A signed-in connection lasts as long as its token: when the token expires (with the same
  leeway as any request's), the socket closes with 4403 and the client reconnects with a
  fresh one. Without it a stream of a merchant's sales would outlive the staff's access.
- Connections per caller (token subject, else client IP) are counted in this process; over
  the limit the socket closes with 4429 before ``connection_ack``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from contextlib import suppress
from typing import Any, Final

from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from commerce.live.limits import ConnectionsPerCaller
from gateway.auth import LEEWAY_SECONDS, Authenticator
from schema.context import Context

TOO_MANY_CONNECTIONS: Final = 4429
FORBIDDEN: Final = 4403
MAX_PARAM_LENGTH: Final = 8200  # a bearer token of auth.MAX_TOKEN_LENGTH and its scheme


class TooManyConnectionsError(Exception):
    """The caller already holds as many connections as allowed (closed with 4429)."""


def authorization_from(params: Mapping[str, object]) -> str | None:
    """The ``Authorization`` value a ``connection_init`` payload carries, if any: the
    ``authorization`` entry in any letter case, or ``Bearer <token>`` for a ``token`` entry."""
    for key, value in params.items():
        if key.lower() == "authorization" and isinstance(value, str):
            return value[:MAX_PARAM_LENGTH]
    token = params.get("token")
    if isinstance(token, str):
        return f"Bearer {token[:MAX_PARAM_LENGTH]}"
    return None


class LiveAdmission:
    """``on_ws_connect``'s rules: verify the token of ``connection_init``, then count the
    connection against its caller. Released when the connection ends."""

    def __init__(self, authenticator: Authenticator | None, max_per_caller: int) -> None:
        self._authenticator = authenticator
        self._counter = ConnectionsPerCaller(max_per_caller)
        self._leases: dict[int, str] = {}  # id(context) -> caller, while connected

    async def admit(self, context: Context) -> None:
        """Sign the connection in (or refuse it: 4403), then count it (or refuse: 4429)."""
        await self._authenticate(context)
        caller = f"sub:{context.viewer.subject}" if context.viewer else f"ip:{context.client}"
        if not self._counter.acquire(caller):
            raise TooManyConnectionsError(caller)
        self._leases[id(context)] = caller

    def release(self, context: Context) -> None:
        caller = self._leases.pop(id(context), None)
        if caller is not None:
            self._counter.release(caller)

    def open_connections(self, caller: str) -> int:
        return self._counter.open_connections(caller)

    async def _authenticate(self, context: Context) -> None:
        authorization = authorization_from(context.connection_params or {})
        if authorization is not None and self._authenticator is not None:
            auth = await self._authenticator.authenticate(authorization)
            context.viewer, context.auth_error = auth.principal, auth.error
            context.viewer_expires_at = auth.expires_at
        if context.auth_error is not None:  # from the payload, or a bad handshake header
            raise ConnectionRejectionError({"message": context.auth_error})


def seconds_left(expires_at: float | None, now: float) -> float | None:
    """How long a connection signed in with a token expiring at ``expires_at`` may stay
    open (None: not signed in, no end), the leeway included."""
    return None if expires_at is None else max(0.0, expires_at + LEEWAY_SECONDS - now)


class LiveTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, closing with 4429 when the caller holds too
    many connections, with 4403 when its token expires, and giving the connection back when
    it ends."""

    _expiry: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except TooManyConnectionsError:
            await self.websocket.close(
                code=TOO_MANY_CONNECTIONS, reason="Too many connections for this caller"
            )
            return
        left = seconds_left(self.context.viewer_expires_at, time.time())
        if self.connection_acknowledged and left is not None and self._expiry is None:
            self._expiry = asyncio.create_task(self._close_when_expired(left))

    async def _close_when_expired(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.websocket.close(code=FORBIDDEN, reason="The token has expired")

    async def shutdown(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            with suppress(asyncio.CancelledError):
                await self._expiry
        await super().shutdown()
        release: Any = getattr(self.view, "release_connection", None)
        if release is not None:
            release(self.context)
