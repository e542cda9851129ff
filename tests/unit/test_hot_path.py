"""``gateway.hot``: which requests take the short stack, and what their scope holds."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.hot import GatewayApp


class View:
    """An ASGI view naming itself and what its scope holds."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = {
            "view": self.name,
            "endpoint": getattr(scope.get("endpoint"), "name", None),
            "path_params": scope.get("path_params"),
            "router": scope.get("router") is not None,
            "app": scope.get("app") is not None,
            "tagged": scope.get("tagged", False),
        }
        await JSONResponse(seen)(scope, receive, send)


class Tag:
    """A user middleware: both stacks must run it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["tagged"] = True
        await self.app(scope, receive, send)


def app_with(**kwargs: Any) -> GatewayApp:
    short, routed = View("short"), View("routed")
    return GatewayApp(
        hot={"/graphql": short},
        routes=[Route("/graphql", routed, methods=["GET", "POST"])],
        middleware=[Middleware(Tag)],
        **kwargs,
    )


async def post(app: GatewayApp, url: str, method: str = "POST") -> dict[str, object]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.request(method, url)
    found: dict[str, object] = response.json()
    return found


async def test_a_plain_post_takes_the_short_stack_with_the_routes_scope() -> None:
    seen = await post(app_with(), "/graphql")
    assert seen == {
        "view": "short",
        "endpoint": "short",
        "path_params": {},
        "router": True,
        "app": True,
        "tagged": True,
    }


async def test_other_requests_take_the_whole_stack() -> None:
    app = app_with()
    assert (await post(app, "/graphql?via=router"))["view"] == "routed"
    assert (await post(app, "/graphql", method="GET"))["view"] == "routed"


async def test_exception_handlers_turn_the_short_stack_off() -> None:
    async def teapot(request: Request, error: Exception) -> Response:
        return PlainTextResponse("handled", status_code=418)

    app = app_with(exception_handlers={HTTPException: teapot})
    assert (await post(app, "/graphql"))["view"] == "routed"
