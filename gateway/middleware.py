"""Plain ASGI middleware: a request id on every request, echoed in ``X-Request-ID``, and the
IETF ``RateLimit-Limit`` / ``RateLimit-Remaining`` / ``RateLimit-Reset`` fields of the request
budget a response was counted against (left in the scope state by the partner gate)."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commerce.partners.api_keys import Verdict

REQUEST_ID_HEADER = "x-request-id"
RATE_LIMIT_STATE = "rate_limit"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    """Adopt a caller's well-formed ``X-Request-ID`` or mint one; store it in scope state."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                add_rate_limit_fields(headers, scope["state"].get(RATE_LIMIT_STATE))
            await send(message)

        await self.app(scope, receive, send_with_id)


def add_rate_limit_fields(headers: MutableHeaders, verdict: Verdict | None) -> None:
    """The counted budget's limit, what is left of it and seconds until it resets."""
    if verdict is None or verdict.limit is None:
        return
    headers["RateLimit-Limit"] = str(verdict.limit)
    headers["RateLimit-Remaining"] = str(verdict.remaining or 0)
    headers["RateLimit-Reset"] = str(verdict.reset_after or 0)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            candidate = value.decode("latin-1")
            return candidate if _SAFE_ID.match(candidate) else None
    return None
