"""The GraphiQL playground must load without any request leaving the host."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient
from strawberry.asgi import GraphQL

from gateway.playground import PLAYGROUND_ASSETS_PATH, playground_routes, render_playground_html

EXTERNAL_HOST_MARKERS = ("unpkg", "jsdelivr", "googleapis", "gstatic", "cdnjs", "esm.sh", "skypack")
# An absolute or protocol-relative URL whose host is a CDN.  Plain-text mentions
# (graphiql.min.js has a React-15 warning saying "jsdelivr, unpkg, etc") are fine.
CDN_URL = re.compile(
    r"(?:https?:)?//[\w.-]*(?:" + "|".join(map(re.escape, EXTERNAL_HOST_MARKERS)) + ")",
    re.IGNORECASE,
)
EXPECTED_CONTENT_TYPES = {".js": "javascript", ".css": "text/css"}


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


class O2OGraphQL(GraphQL[None, None]):
    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(render_playground_html())


class _ResourceCollector(HTMLParser):
    """Collect ``src``/``href`` (and ``integrity``) of every element."""

    def __init__(self) -> None:
        super().__init__()
        self.resources: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            url = values.get(name)
            if url is not None:
                self.resources.append((tag, url, values.get("integrity")))


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    graphql_app = O2OGraphQL(strawberry.Schema(query=Query))
    app = Starlette(routes=[Route("/graphql", graphql_app), *playground_routes()])
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def page(client: TestClient) -> str:
    response = client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    text: str = response.text
    return text


@pytest.fixture(scope="module")
def resources(page: str) -> list[tuple[str, str, str | None]]:
    collector = _ResourceCollector()
    collector.feed(page)
    collector.close()
    return collector.resources


def _local_assets(resources: list[tuple[str, str, str | None]]) -> list[tuple[str, str | None]]:
    return [
        (url, integrity)
        for _tag, url, integrity in resources
        if url.startswith(f"{PLAYGROUND_ASSETS_PATH}/")
    ]


def test_page_is_graphiql(page: str) -> None:
    assert "GraphiQL" in page
    assert 'id="graphiql"' in page
    assert "crossorigin" not in page


def test_graphql_endpoint_still_answers_queries(client: TestClient) -> None:
    response = client.post("/graphql", json={"query": "{ hello }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"hello": "world"}}


def test_page_references_no_external_url(
    page: str, resources: list[tuple[str, str, str | None]]
) -> None:
    assert resources, "parser found no src/href attributes at all"
    for tag, url, _integrity in resources:
        parts = urlsplit(url)
        if parts.scheme == "data":
            continue  # inline favicon
        assert not parts.scheme, f"<{tag}> references absolute URL {url!r}"
        assert not parts.netloc, f"<{tag}> references protocol-relative URL {url!r}"
    for marker in EXTERNAL_HOST_MARKERS:
        assert marker not in page.lower()


def test_all_cdn_assets_are_replaced(resources: list[tuple[str, str, str | None]]) -> None:
    assets = _local_assets(resources)
    # react, react-dom, js-cookie, graphiql js+css, explorer js+css
    assert len(assets) == 7
    assert {url.rsplit(".", 1)[-1] for url, _ in assets} == {"js", "css"}


def test_local_assets_are_served_and_match_integrity(
    client: TestClient, resources: list[tuple[str, str, str | None]]
) -> None:
    for url, integrity in _local_assets(resources):
        response = client.get(url)
        assert response.status_code == 200, url
        suffix = "." + url.rsplit(".", 1)[-1]
        assert EXPECTED_CONTENT_TYPES[suffix] in response.headers["content-type"], url
        assert len(response.content) > 0, url
        if integrity is not None:
            algorithm, _, expected = integrity.partition("-")
            assert algorithm == "sha384", url
            digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
            assert digest == expected, f"integrity mismatch for {url}"


def test_bundles_fetch_nothing_external(
    client: TestClient, resources: list[tuple[str, str, str | None]]
) -> None:
    css_remote = re.compile(r"""url\(\s*["']?(?:https?:)?//|@import""", re.IGNORECASE)
    source_map = re.compile(r"sourceMappingURL=(\S+?)(?:\s*\*/)?\s*$", re.MULTILINE)
    for url, _integrity in _local_assets(resources):
        body = client.get(url).text
        cdn_url = CDN_URL.search(body)
        assert cdn_url is None, f"{url} references {cdn_url and cdn_url.group(0)}"
        if url.endswith(".css"):
            assert css_remote.search(body) is None, f"{url} loads a remote font/image/stylesheet"
        for match in source_map.finditer(body):
            assert not urlsplit(match.group(1)).scheme, f"{url} has a remote source map"


def test_cdn_url_pattern_is_not_vacuous() -> None:
    assert CDN_URL.search('s.src="https://unpkg.com/react@18/umd/react.js"')
    assert CDN_URL.search("url(//fonts.googleapis.com/css?family=Fira)")
    assert not CDN_URL.search("If you are using a CDN source (jsdelivr, unpkg, etc)")


def test_custom_graphql_path_is_embedded() -> None:
    html = render_playground_html("/api/graphql")
    assert 'new URL("/api/graphql", window.location.href)' in html
    assert render_playground_html("/api/graphql") is html  # cached
    hostile = render_playground_html("</script><script>alert(1)</script>")
    assert "</script><script>alert(1)" not in hostile
