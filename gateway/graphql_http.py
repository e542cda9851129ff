"""GraphQL over HTTP and over WebSocket, as standard clients expect them.

- Media types: a client that accepts ``application/graphql-response+json`` gets it, with
  ``400`` and no ``data`` entry when the request failed before execution (parse, validation,
  variable coercion); every other client gets ``application/json`` with ``200``, as before.
- Request-level failures (bad JSON, wrong content type, no query, a mutation over GET) are
  GraphQL-shaped JSON with ``extensions.code`` instead of plain text.
- WebSocket messages leave as text frames (``graphql-transport-ws`` is a text protocol), and a
  ``connection_init`` whose ``payload`` is ``null`` is accepted, as the protocol allows.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
BAD_REQUEST = "BAD_REQUEST"
DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
PRE_EXECUTION_FAILED = "graphql_pre_execution_failed"


def accepts_graphql_response(request: Request) -> bool:
    """True when the client lists the GraphQL response media type in ``Accept``."""
    accept = request.headers.get("accept", "")
    return any(
        part.split(";")[0].strip().lower() == GRAPHQL_RESPONSE_JSON for part in accept.split(",")
    )


def media_type_for(request: Request) -> str:
    return GRAPHQL_RESPONSE_JSON if accepts_graphql_response(request) else APPLICATION_JSON


def request_error_response(request: Request, status: int, reason: str) -> Response:
    """A request that never reached GraphQL: the reason as a coded GraphQL error."""
    body = {
        "errors": [{"message": reason, "extensions": {"code": BAD_REQUEST}}],
        "extensions": {"cost": 0},
    }
    status, headers = _refined_status(status, reason)
    return Response(
        orjson.dumps(body), status_code=status, media_type=media_type_for(request), headers=headers
    )


def _refined_status(status: int, reason: str) -> tuple[int, dict[str, str] | None]:
    """Strawberry answers 400 to everything; the spec has sharper codes for two cases."""
    if reason.startswith("mutations are not allowed when using GET"):
        return 405, {"Allow": "POST"}
    if reason == "Unsupported content type":
        return 415, None
    if status == 405:
        return status, {"Allow": "GET, POST"}
    return status, None


def deadline_response(request: Request, deadline_s: float) -> Response:
    """The operation ran past the request deadline: a coded error, never a hang (retryable)."""
    body = {
        "data": None,
        "errors": [
            {
                "message": f"The operation took longer than {deadline_s:g} s and was stopped; "
                "try again or ask for less.",
                "extensions": {"code": DEADLINE_EXCEEDED},
            }
        ],
    }
    status = 504 if accepts_graphql_response(request) else 200
    return Response(orjson.dumps(body), status_code=status, media_type=media_type_for(request))


def negotiate(request: Request, response: Response) -> Response:
    """Serve the media type the client asked for; a failed request is a 400 under the new one."""
    if response.media_type != APPLICATION_JSON or not accepts_graphql_response(request):
        return response
    response.media_type = GRAPHQL_RESPONSE_JSON
    response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
    if request.scope.get("state", {}).get(PRE_EXECUTION_FAILED) and response.status_code == 200:
        response.status_code = 400
    return response


class TextFrameWebSocket(ASGIWebSocketAdapter):
    """Strawberry's WebSocket adapter, sending text frames and accepting a null init payload."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        encoded = self.view.encode_json(message)
        text = encoded.decode() if isinstance(encoded, bytes) else encoded
        try:
            await self.ws.send_text(text)
        except WebSocketDisconnect as gone:
            raise WebSocketDisconnected from gone

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        async for message in super().iter_json(ignore_parsing_errors=ignore_parsing_errors):
            if (
                isinstance(message, dict)
                and message.get("type") == "connection_init"
                and message.get("payload", {}) is None
            ):
                message = {"type": "connection_init"}
            yield message
