"""Plain ASGI middleware: a request id on every request, echoed in ``X-Request-ID``, and the
IETF ``RateLimit-Limit`` / ``RateLimit-Remaining`` / ``RateLimit-Reset`` fields of the request
budget a response was counted against (left in the scope state by the partner gate). It also
opens the request's record and, at the end, has it logged and counted (:mod:`gateway.observe`)."""

from __future__ import annotations

import os
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commerce.partners.api_keys import Verdict
from gateway.metrics import WEBSOCKETS
from gateway.observe import finish_connection, finish_request
from gateway.record import CURRENT, RequestRecord

REQUEST_ID_HEADER = "x-request-id"
RATE_LIMIT_STATE = "rate_limit"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    """Adopt a caller's well-formed ``X-Request-ID`` or mint one (128 random bits, in hex);
    store it in scope state."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or os.urandom(16).hex()  # 32 hex digits, as uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        # Not reset at the end: the server runs each request in its own task, and the lines
        # logged after this returns (an unhandled exception's traceback) keep the request id.
        if scope["type"] == "websocket":
            await self._serve_websocket(scope, receive, send, request_id)
            return
        record = RequestRecord(request_id, scope["method"], scope["path"])
        CURRENT.set(record)
        status = 500  # unless a response starts

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                add_rate_limit_fields(headers, scope["state"].get(RATE_LIMIT_STATE))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            finish_request(record, status, scope.get("endpoint"))

    async def _serve_websocket(
        self, scope: Scope, receive: Receive, send: Send, request_id: str
    ) -> None:
        record = RequestRecord(request_id, "WS", scope["path"], websocket=True)
        CURRENT.set(record)
        WEBSOCKETS.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            WEBSOCKETS.dec()
            finish_connection(record)


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
