"""Strawberry's ASGI app, customised: our context, offline playground, orjson responses."""

from __future__ import annotations

from typing import Any, cast

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from commerce.loop import Loop
from gateway.auth import Authenticator
from gateway.playground import render_playground_html
from geo.db import Database
from schema.context import Context, pick_language
from schema.errors import request_error_code
from search.index import SearchIndex


class O2OGraphQL(GraphQL[Context, None]):
    """``/graphql`` for POST, GET and WebSocket (graphql-transport-ws)."""

    def __init__(
        self,
        *args: Any,
        database: Database,
        search: SearchIndex,
        authenticator: Authenticator | None = None,
        loop: Loop | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._database = database
        self._search = search
        self._authenticator = authenticator
        self._loop = loop

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        request_id = str(request.scope.get("state", {}).get("request_id", "-"))
        auth = None
        if self._authenticator is not None:
            auth = await self._authenticator.authenticate(request.headers.get("authorization"))
        return Context(
            database=self._database,
            search=self._search,
            request_id=request_id,
            language=pick_language(request.headers.get("accept-language")),
            viewer=auth.principal if auth else None,
            auth_error=auth.error if auth else None,
            loop=self._loop,
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(render_playground_html())

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        errors: list[dict[str, Any]] = cast(list[dict[str, Any]], response.get("errors") or [])
        for error in errors:
            extensions = error.setdefault("extensions", {})
            if "code" not in extensions:  # parse errors bypass the schema's extensions
                extensions["code"] = request_error_code(str(error.get("message", "")))
        return response
