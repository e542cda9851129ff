"""Strawberry's ASGI app, customised: our context, offline playground, orjson responses,
GraphQL-over-HTTP media types, text WebSocket frames (see :mod:`gateway.graphql_http`) and
live admission (:mod:`gateway.live_ws`)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.unset import UnsetType

from commerce.insights.funnel import Funnel
from commerce.live.hub import EventHub
from commerce.orders.services import OrderServices
from db.database import Database
from gateway.auth import Authenticator, AuthResult
from gateway.graphql_http import (
    APPLICATION_JSON,
    BAD_REQUEST,
    DEADLINE_EXCEEDED,
    GRAPHQL_RESPONSE_JSON,
    PRE_EXECUTION_FAILED,
    TextFrameWebSocket,
    accepts_graphql_response,
    deadline_response,
    negotiate,
    request_error_response,
)
from gateway.live_ws import LiveAdmission, LiveTransportWSHandler
from gateway.observe import note_caller, note_codes, note_operation, note_response
from gateway.partners import Caller, KeyMeter, PartnerGate, RefusedError
from gateway.persisted import PersistedQueries, PersistedQueryError, persisted_of
from gateway.playground import render_playground_html
from schema.compiled import Compiler
from schema.context import Context, pick_language
from schema.errors import request_error_code
from search.index import SearchIndex


class O2OGraphQL(GraphQL[Context, None]):
    """``/graphql`` for POST, GET and WebSocket (graphql-transport-ws)."""

    websocket_adapter_class = TextFrameWebSocket
    route_name = "graphql"  # metrics label of requests that ran no operation
    graphql_transport_ws_handler_class = LiveTransportWSHandler

    def __init__(
        self,
        *args: Any,
        database: Database,
        search: SearchIndex,
        authenticator: Authenticator | None = None,
        services: OrderServices | None = None,
        gate: PartnerGate | None = None,
        partners_only_tools: bool = False,
        deadline_s: float = 15.0,
        connections_per_request: int = 2,
        live: EventHub | None = None,
        admission: LiveAdmission | None = None,
        funnel: Funnel | None = None,
        persisted: PersistedQueries | None = None,
        compiler: Compiler | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._database = database
        self._search = search
        self._authenticator = authenticator
        self._services = services
        self._gate = gate
        self._deadline_s = deadline_s
        self._connections_per_request = connections_per_request
        self._live = live
        self._funnel = funnel
        self._admission = admission or LiveAdmission(authenticator, max_per_caller=10)
        self._persisted = persisted  # automatic persisted queries / trusted documents
        self._compiler = compiler  # direct code for known persisted operations
        # production: the playground and introspection are for partner keys only
        self._partners_only_tools = partners_only_tools
        self._base_urls = BaseUrls()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Identify the caller and count the request before Strawberry sees it."""
        if scope["type"] == "websocket" and self._trusted_only():
            await WebSocket(scope, receive, send).close(code=1008)  # only registered operations
            return
        if self._gate is not None and scope["type"] in ("http", "websocket"):
            is_http = scope["type"] == "http"
            connection = Request(scope) if is_http else WebSocket(scope, receive, send)
            auth = await self._authenticate(connection.headers.get("authorization"))
            scope.setdefault("state", {})["auth"] = auth
            subject = auth.principal.subject if auth and auth.principal else None
            try:
                caller = await self._gate.identify(connection, subject)
                note_caller(caller.kind)
                if is_http:
                    await self._gate.count_request(caller, connection)
            except RefusedError as refusal:
                if isinstance(connection, WebSocket):  # closed before accepting: HTTP 403
                    await connection.close(code=1008)
                else:
                    await refusal.response(scope, receive, send)
                return
            scope.setdefault("state", {})["caller"] = caller
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
        elif self._compiled_candidate(scope):
            await self._serve_compiled(scope, receive, send)
        else:
            await self._serve_http(scope, receive, send)

    def _compiled_candidate(self, scope: Scope) -> bool:
        """A POST of JSON to a view with compiled plans: maybe a known persisted operation."""
        if self._compiler is None or self._persisted is None or scope["method"] != "POST":
            return False
        for name, value in scope["headers"]:
            if name == b"content-type":
                return b"application/json" in value
        return False

    async def _serve_compiled(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The hot path, in plain ASGI: read the body, answer through a compiled plan with
        the bytes and headers normal execution would send, else hand the request (body
        replayed) to :meth:`_serve_http`."""
        body = await _read_body(receive)
        if body is None:
            return  # the client went away before sending its request
        try:
            async with asyncio.timeout(self._deadline_s):
                answer = await self._answer_compiled(scope, body)
        except TimeoutError:
            request = Request(scope, _replay(body, receive))
            await deadline_response(request, self._deadline_s)(scope, receive, send)
            note_codes((DEADLINE_EXCEEDED,))
            return
        if answer is None:
            await self._serve_http(scope, _replay(body, receive), send)
            return
        status, headers, encoded = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": encoded})

    async def _answer_compiled(
        self, scope: Scope, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """Status, headers and body of a known persisted operation's plan; ``None`` when
        it has none (nothing was charged): normal execution then runs it."""
        found = _persisted_operation(body)
        if found is None or self._compiler is None or self._persisted is None:
            return None
        digest, variables, name = found
        text = await self._persisted.lookup(digest)
        plan = None if text is None else self._compiler.plan(digest, text, name)
        if plan is None:
            return None
        headers = Headers(scope=scope)
        state = scope.setdefault("state", {})
        if "auth" not in state:  # else verified once, by __call__'s gate
            state["auth"] = await self._authenticate(headers.get("authorization"))
        sub_response = _SubResponse()
        context = self._context_of(scope, headers, cast(Response, sub_response))
        result = await plan.execute(context, variables or {})
        if result is None:
            return None
        self._compiler.answered += 1
        note_operation(plan.operation)
        note_response(result)
        graphql_response = _accepts_graphql_response(headers.get("accept", ""))
        media = GRAPHQL_RESPONSE_JSON if graphql_response else APPLICATION_JSON
        encoded = orjson.dumps(result)
        raw = [
            (b"content-length", str(len(encoded)).encode()),
            (b"content-type", media.encode()),
            *sub_response.raw,
        ]
        return sub_response.status_code or 200, raw, encoded

    async def _serve_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            async with asyncio.timeout(self._deadline_s):
                response = negotiate(request, await self.run(request))
        except PersistedQueryError as refused:
            response = refused.response(accepts_graphql_response(request))
            note_codes((refused.code,))
        except HTTPException as refused:
            response = request_error_response(request, refused.status_code, refused.reason)
            note_codes((BAD_REQUEST,))
        except TimeoutError:
            response = deadline_response(request, self._deadline_s)
            note_codes((DEADLINE_EXCEEDED,))
        await response(scope, receive, send)

    def _trusted_only(self) -> bool:
        return self._persisted is not None and self._persisted.trusted_only

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """The request's operations, persisted ones looked up (see :mod:`gateway.persisted`)."""
        data = await super().parse_http_body(request)
        if self._persisted is None:
            return data
        if isinstance(data, list):
            return [await self._persisted.resolve(item) for item in data]
        return await self._persisted.resolve(data)

    async def _authenticate(self, authorization: str | None) -> AuthResult | None:
        if self._authenticator is None:
            return None
        return await self._authenticator.authenticate(authorization)

    def _tools_allowed(self, caller: Caller | None) -> bool:
        return not self._partners_only_tools or (caller is not None and caller.partner is not None)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        state = request.scope.setdefault("state", {})
        if "auth" not in state:  # else verified once, by __call__'s gate
            state["auth"] = await self._authenticate(request.headers.get("authorization"))
        return self._context_of(request.scope, request.headers, response)

    def _context_of(
        self, scope: Scope, headers: Headers, response: Response | WebSocket
    ) -> Context:
        """The request's context, once its token is verified (``state["auth"]``)."""
        state = scope.get("state", {})
        auth: AuthResult | None = state.get("auth")
        caller: Caller | None = state.get("caller")
        meter = None
        if self._gate is not None and caller is not None:
            sub_response = response if not isinstance(response, WebSocket) else None
            meter = KeyMeter(self._gate, caller, sub_response, count_requests=sub_response is None)
        client = scope.get("client")
        return Context(
            meter=meter,
            introspection=self._tools_allowed(caller),
            database=self._database.limited(self._connections_per_request),
            search=self._search,
            request_id=str(state.get("request_id", "-")),
            language=pick_language(headers.get("accept-language")),
            viewer=auth.principal if auth else None,
            auth_error=auth.error if auth else None,
            viewer_expires_at=auth.expires_at if auth else None,
            services=self._services,
            live=self._live,
            client=caller.client if caller else (client[0] if client else "unknown"),
            partner_key_id=caller.partner.id if caller and caller.partner else None,
            funnel=self._funnel,
            base_url=self._base_urls.of(scope, headers.get("host")),
        )

    async def on_ws_connect(self, context: Context) -> UnsetType:
        """``connection_init``: the token of its payload, then the caller's connection count
        (4403 for a bad token, 4429 over the limit; see :mod:`gateway.live_ws`)."""
        await self._admission.admit(context)
        return UnsetType()  # the singleton: connection_ack without a payload

    def release_connection(self, context: Context) -> None:
        """The WebSocket ended: its caller may open another."""
        self._admission.release(context)

    async def render_graphql_ide(self, request: Request) -> Response:
        if not self._tools_allowed(request.scope.get("state", {}).get("caller")):
            return PlainTextResponse("Not Found", status_code=404)
        return HTMLResponse(render_playground_html())

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        if isinstance(result, PreExecutionError):
            request.scope.setdefault("state", {})[PRE_EXECUTION_FAILED] = True
            if accepts_graphql_response(request):
                response.pop("data", None)
        errors: list[dict[str, Any]] = cast(list[dict[str, Any]], response.get("errors") or [])
        for error in errors:
            extensions = error.setdefault("extensions", {})
            if "code" not in extensions:  # parse errors bypass the schema's extensions
                extensions["code"] = request_error_code(str(error.get("message", "")))
        note_response(response)
        return response


class BaseUrls:
    """Starlette's ``base_url`` of requests, remembered by what it is made of (a few values
    per deployment; at most ``limit``, since the Host header is the client's): building it
    costs more than the rest of a request's context."""

    def __init__(self, limit: int = 64) -> None:
        self._limit = limit
        self._known: dict[tuple[Any, ...], str] = {}

    def __len__(self) -> int:
        return len(self._known)

    def of(self, scope: Scope, host: str | None) -> str:
        key = (
            scope.get("scheme"), scope.get("server"), scope.get("root_path"),
            scope.get("app_root_path"), host,
        )  # fmt: skip
        found = self._known.get(key)
        if found is None:
            found = str(HTTPConnection(scope).base_url)
            if len(self._known) < self._limit:
                self._known[key] = found
        return found


class _SubResponse:
    """What a plan may set on its answer besides the body (a cost refusal's 429 and
    ``Retry-After``): the two attributes :class:`gateway.partners.KeyMeter` writes."""

    def __init__(self) -> None:
        self.status_code: int | None = None
        self.headers = MutableHeaders()

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        return self.headers.raw


async def _read_body(receive: Receive) -> bytes | None:
    """The request's body, ``None`` when the client disconnected first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` that gives ``body`` once more first (a request read by the hot path)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def _persisted_operation(body: bytes) -> tuple[str, dict[str, Any] | None, str | None] | None:
    """(hash, variables, operation name) of a persisted request without text, else ``None``
    (a body that does not name the extension is not parsed here: normal execution does)."""
    if b"persistedQuery" not in body:
        return None
    try:
        data = orjson.loads(body)
        persisted = persisted_of(data.get("extensions")) if isinstance(data, dict) else None
    except (orjson.JSONDecodeError, PersistedQueryError):
        return None
    if persisted is None or data.get("query") is not None:
        return None
    variables, name = data.get("variables"), data.get("operationName")
    if not isinstance(variables, dict | None) or not isinstance(name, str | None):
        return None
    return persisted.digest, variables, name


def _accepts_graphql_response(accept: str) -> bool:
    """:func:`gateway.graphql_http.accepts_graphql_response` over the header's value."""
    return any(
        part.split(";")[0].strip().lower() == GRAPHQL_RESPONSE_JSON for part in accept.split(",")
    )
