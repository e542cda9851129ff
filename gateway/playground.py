"""Offline GraphiQL playground.

Strawberry's bundled GraphiQL page (``strawberry/static/graphiql.html``) loads
React, ReactDOM, js-cookie, GraphiQL and the GraphiQL explorer plugin from
``unpkg.com``.  The gateway must work without internet access, so this module
serves byte-identical copies of those npm files from ``gateway/static/playground``
(see the README.md there for provenance and licences) and rewrites the page to
point at them.

The page template is *not* copied: it is read at runtime through Strawberry's own
:func:`strawberry.http.ides.get_graphql_ide_html`, so template fixes shipped with
Strawberry are picked up automatically.  If a Strawberry upgrade changes the CDN
URLs, :func:`render_playground_html` raises instead of silently serving a page
that would reach out to the internet; the offline test then fails loudly.

The main application wires it up like this::

    class O2OGraphQL(strawberry.asgi.GraphQL):
        async def render_graphql_ide(self, request: Request) -> Response:
            return HTMLResponse(render_playground_html())

    routes = [..., *playground_routes()]
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from types import MappingProxyType
from typing import Final

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from strawberry.http.ides import get_graphql_ide_html

__all__ = [
    "PLAYGROUND_ASSETS_PATH",
    "PLAYGROUND_STATIC_DIR",
    "playground_routes",
    "render_playground_html",
]

PLAYGROUND_ASSETS_PATH: str = "/playground-assets"
"""URL prefix under which the vendored playground assets are served."""

PLAYGROUND_STATIC_DIR: Final[Path] = Path(__file__).resolve().parent / "static" / "playground"
"""Directory holding the vendored asset files."""

# unpkg URL (as written in Strawberry's template) -> local file name.
_CDN_TO_LOCAL: Final = MappingProxyType(
    {
        "https://unpkg.com/react@18.2.0/umd/react.production.min.js": ("react.production.min.js"),
        "https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js": (
            "react-dom.production.min.js"
        ),
        "https://unpkg.com/js-cookie@3.0.5/dist/js.cookie.min.js": "js.cookie.min.js",
        "https://unpkg.com/graphiql@3.8.3/graphiql.min.css": "graphiql.min.css",
        "https://unpkg.com/graphiql@3.8.3/graphiql.min.js": "graphiql.min.js",
        "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/style.css": (
            "plugin-explorer.style.css"
        ),
        "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/index.umd.js": (
            "plugin-explorer.index.umd.js"
        ),
    }
)

_ABSOLUTE_URL_ATTR: Final = re.compile(r"""\b(?:src|href)\s*=\s*["'](?:https?:)?//[^"']*["']""")
_CROSSORIGIN_ATTR: Final = re.compile(r"""\s+crossorigin(?:\s*=\s*["'][^"']*["'])?(?=[\s>/])""")
_FETCH_URL_LINE: Final = 'const fetchURL = window.location.href.split("?")[0];'


def _rewrite_cdn_urls(html: str) -> str:
    for cdn_url, local_name in _CDN_TO_LOCAL.items():
        quoted = f'"{cdn_url}"'
        if quoted not in html:
            msg = f"Strawberry's GraphiQL template no longer references {cdn_url}"
            raise RuntimeError(msg)
        html = html.replace(quoted, f'"{PLAYGROUND_ASSETS_PATH}/{local_name}"')
    # The vendored files are byte-identical to the unpkg ones, so the upstream
    # ``integrity`` hashes stay valid and are kept.  ``crossorigin`` is only
    # meaningful for cross-origin fetches and is dropped.
    html = _CROSSORIGIN_ATTR.sub("", html)
    leftover = _ABSOLUTE_URL_ATTR.search(html)
    if leftover is not None:
        msg = f"GraphiQL template still references an external URL: {leftover.group(0)}"
        raise RuntimeError(msg)
    return html


def _set_graphql_path(html: str, graphql_path: str) -> str:
    if _FETCH_URL_LINE not in html:
        msg = "Strawberry's GraphiQL template no longer defines fetchURL as expected"
        raise RuntimeError(msg)
    # JSON string literals are valid JS string literals; escape "<" so the value
    # can never close the surrounding <script> element.
    literal = json.dumps(graphql_path).replace("<", "\\u003c")
    # Resolve relative to the page URL (same result as the original line when
    # the page is served at ``graphql_path``); the subscription URL is derived
    # from fetchURL by the template, so websockets follow automatically.
    replacement = f"const fetchURL = new URL({literal}, window.location.href).href;"
    return html.replace(_FETCH_URL_LINE, replacement)


@functools.cache
def render_playground_html(graphql_path: str = "/graphql") -> str:
    """Return Strawberry's GraphiQL page wired to the locally served assets.

    ``graphql_path`` is the endpoint the page sends queries (and subscriptions,
    via ``ws://``/``wss://`` on the same path) to, resolved against the page URL.
    The result is cached per ``graphql_path``.

    Raises:
        RuntimeError: if the installed Strawberry template does not match the
            vendored asset versions (e.g. after a Strawberry upgrade).
    """
    html = get_graphql_ide_html(graphql_ide="graphiql")
    return _set_graphql_path(_rewrite_cdn_urls(html), graphql_path)


def playground_routes() -> list[BaseRoute]:
    """Return the route serving the vendored playground assets."""
    return [
        Mount(
            PLAYGROUND_ASSETS_PATH,
            app=StaticFiles(directory=PLAYGROUND_STATIC_DIR),
            name="playground-assets",
        )
    ]
