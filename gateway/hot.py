"""The application, with the GraphQL hot path one layer shorter.

A plain ``POST /graphql`` (no query string, no root path) reaches the GraphQL view through
the same middleware as every other request (server errors, body limit, CORS, request ids,
RateLimit fields, logs and metrics) but without Starlette's exception layer and router: the
path is known, so the scope gets what the route would give it (``endpoint``, ``path_params``,
``router``) and the view is called directly. The view answers its own errors (it never
raises Starlette's ``HTTPException``, the one thing the exception layer would turn into a
response), so the answer is the same. Anything else goes through the whole stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send


class GatewayApp(Starlette):
    """Starlette, with ``hot`` paths (path -> the view its POST route serves) on a shorter
    stack; none when exception handlers other than the 500 one are set (those need the
    exception layer)."""

    def __init__(self, *args: Any, hot: Mapping[str, ASGIApp], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hot_views = dict(hot)
        self._hot: dict[str, ASGIApp] = {}

    def build_middleware_stack(self) -> ASGIApp:
        handlers = set(self.exception_handlers) - {500, Exception}
        views = {} if handlers else self._hot_views
        self._hot = {path: self._short_stack(view) for path, view in views.items()}
        return super().build_middleware_stack()

    def _short_stack(self, view: ASGIApp) -> ASGIApp:
        """:meth:`build_middleware_stack`'s layers without the exception layer and router."""
        error_handler = self.exception_handlers.get(500) or self.exception_handlers.get(Exception)
        middleware = [Middleware(ServerErrorMiddleware, handler=error_handler, debug=self.debug)]
        if self.max_body_size is not None:
            middleware.append(
                Middleware(RequestBodyLimitMiddleware, max_body_size=self.max_body_size)
            )
        middleware += self.user_middleware
        app: ASGIApp = _Routed(view, self.router)
        for cls, args, kwargs in reversed(middleware):
            app = cls(app, *args, **kwargs)
        return app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.middleware_stack is None:
            self.middleware_stack = self.build_middleware_stack()
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and not scope.get("query_string")
            and not scope.get("root_path")
        ):
            hot = self._hot.get(scope["path"])
            if hot is not None:
                scope["app"] = self
                await hot(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class _Routed:
    """The view, with the scope its route would have given it."""

    def __init__(self, view: ASGIApp, router: Router) -> None:
        self.view = view
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("router", self.router)
        scope["endpoint"] = self.view
        scope["path_params"] = {}
        await self.view(scope, receive, send)
