"""Compiled ``searchDeals`` answers byte for byte as normal execution does.

Every searchDeals document of the test suite (string constants of the test modules), the
benchmark's, and hand-written ones with fragments, aliases, highlights and what is not
compiled (facets, attribution, __typename, a directive) run twice, as plain text (normal
execution) and as a persisted query (the compiled plan when there is one), over good and bad
variables. Status, media type and body bytes must be equal; the compiled path must have run.
"""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import GraphQLError, OperationDefinitionNode, parse

from bench.search_run import QUERY as BENCH_QUERY
from gateway.app import create_app
from schema.compiled import Compiler
from tests.conftest import RunningServer, free_port, gateway_settings, serve_in_thread
from tests.discovery.test_compiled import answer, both_ways, persisted, sha
from tests.helpers import HELSINKI, SHANGHAI
from tests.partners.fixtures import WINDOW_S

TESTS = Path(__file__).resolve().parents[1]

HANDWRITTEN = (
    BENCH_QUERY,
    """query Found($q: String!, $near: GeoPointInput, $first: Int = 4, $after: String) {
         found: searchDeals(query: $q, near: $near, first: $first, after: $after) { ...Page }
       }
       fragment Page on DealSearchConnection {
         totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
         edges { ...Edge c: cursor }
       }
       fragment Edge on DealSearchEdge {
         score distanceMeters highlights { field snippets }
         node { ... on Node { id } ...DealBits } store { ...StoreBits }
       }
       fragment DealBits on Deal {
         title description discountPercent validFrom validUntil remainingQuantity
         totalQuantity perUserLimit requiresBooking
         price { amount currency } originalPrice { amount currency } merchant { ...M }
       }
       fragment StoreBits on Store {
         id name address timezone openingHours isOpenNow location { lat lng } merchant { ...M }
       }
       fragment M on Merchant {
         id name localizedName priceLevel reviewCount rating category { id slug name }
       }""",
    """query($q: String!, $near: GeoPointInput, $radius: Float, $sort: DealSort, $first: Int,
             $after: String) {
         searchDeals(query: $q, near: $near, radiusMeters: $radius, sort: $sort, first: $first,
                     after: $after) {
           edges { cursor n: node { t: title id } node { price { amount } } }
           pageInfo { endCursor hasNextPage }
         }
       }""",
    """query($q: String!) { searchDeals(query: $q) { edges { highlights { snippets } } } }""",
    # not compiled (normal execution answers both ways): facets, attribution, __typename,
    # a directive, a list of stores
    """query($q: String!) { searchDeals(query: $q, first: 3) {
         facets { categories { value count } } edges { node { id } } } }""",
    """query($q: String!) { searchDeals(query: $q, first: 3) {
         edges { attribution node { id } } } }""",
    """query($q: String!) { searchDeals(query: $q, first: 2) { __typename totalCount } }""",
    """query($q: String!, $skip: Boolean = false) { searchDeals(query: $q, first: 2) {
         edges { node { id @skip(if: $skip) } } } }""",
    """query($q: String!) { searchDeals(query: $q, first: 2) {
         edges { node { id stores { id } } } } }""",
)
NOT_COMPILED = ("facets", "attribution", "__typename", "@skip", "stores {")

VARIABLES: tuple[dict[str, Any], ...] = (
    {"q": "coffee", "near": HELSINKI, "radius": 2000.0, "first": 20},
    {"q": "lunch", "near": HELSINKI, "first": 5, "sort": "DISTANCE"},
    {"q": "咖啡", "near": SHANGHAI, "radius": 5000.0, "first": 7, "sort": "PRICE_ASC"},
    {"q": "happy hour", "first": 6, "sort": "RATING"},
    {"q": "火锅", "near": SHANGHAI, "radius": 3000.0, "first": 3, "sort": "DISCOUNT"},
    {"q": "qzxjvwq", "near": HELSINKI, "radius": 2000.0, "first": 20},
    {"q": "coffee", "near": HELSINKI, "radius": 2000.0, "first": 5, "filter": {"minRating": 4}},
    # bad input: answered by normal execution both ways
    {"q": "   ", "near": HELSINKI, "radius": 2000.0, "first": 5},
    {"q": "coffee", "radius": 2000.0, "first": 5},
    {"q": "coffee", "near": HELSINKI, "radius": 2000.0, "first": 0},
    {"q": "coffee", "first": 5, "sort": "DISTANCE"},
    {"q": "coffee", "near": {"lat": 91, "lng": 0}, "radius": 2000.0, "first": 5},
    {"q": "coffee", "near": HELSINKI, "radius": 2000.0, "first": 5, "after": "not-a-cursor"},
    {"q": "coffee", "near": HELSINKI, "radius": "far", "first": 5},
    {},
)


def suite_documents() -> list[str]:
    """String constants of the test modules that are searchDeals GraphQL documents."""
    found: list[str] = []
    for path in sorted(TESTS.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and "searchDeals" in text:
                try:
                    document = parse(text)
                except GraphQLError:
                    continue
                if any(isinstance(d, OperationDefinitionNode) for d in document.definitions):
                    found.append(text)
    return found


def documents() -> list[str]:
    return list(dict.fromkeys([*suite_documents(), *HANDWRITTEN]))


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def compiler_of(server: RunningServer) -> Compiler:
    compiler: Compiler = server.app.state.compiler
    return compiler


def test_the_suite_has_search_documents() -> None:
    assert len(suite_documents()) >= 5


@pytest.mark.parametrize("text", documents())
def test_every_document_answers_the_same_both_ways(
    http: httpx.Client, server: RunningServer, text: str
) -> None:
    compiler = compiler_of(server)
    before, answered = compiler.answered, False
    for variables in VARIABLES:
        plain, stored = both_ways(http, text, variables)
        assert stored == plain, variables
        answered = answered or b'"errors"' not in plain[2]
    second = second_page_variables(http, text)
    if second is not None:
        plain, stored = both_ways(http, text, second)
        assert stored == plain
    if answered and compiler.plan(sha(text), text, None) is not None:
        assert compiler.answered > before  # the compiled path ran for the good variables


def second_page_variables(http: httpx.Client, text: str) -> dict[str, Any] | None:
    """Variables continuing after the first page, when the document pages with ``$after``."""
    if "$after" not in text:
        return None
    first = {"q": "coffee", "near": HELSINKI, "first": 3}
    body = http.post("/graphql", json={"query": text, "variables": first}).json()
    connection = next(iter((body.get("data") or {}).values()), None) or {}
    end = (connection.get("pageInfo") or {}).get("endCursor")
    return None if end is None else {**first, "after": end}


def test_plans_exist_only_for_what_the_compiler_knows(server: RunningServer) -> None:
    compiler = compiler_of(server)
    for text in HANDWRITTEN:
        plan = compiler.plan(sha(text), text, None)
        assert (plan is None) == any(word in text for word in NOT_COMPILED), text
    compiled = [t for t in suite_documents() if compiler.plan(sha(t), t, None) is not None]
    assert len(compiled) >= 3


def test_the_benchmark_query_is_compiled(http: httpx.Client, server: RunningServer) -> None:
    variables = {"q": "coffee", "near": HELSINKI, "radius": 2000.0, "first": 20}
    http.post("/graphql", json=persisted(BENCH_QUERY, variables, True))
    compiler = compiler_of(server)
    before = compiler.answered
    body = http.post("/graphql", json=persisted(BENCH_QUERY, variables, False)).json()
    assert body["data"]["searchDeals"]["edges"]
    assert compiler.answered == before + 1


@pytest.fixture(scope="module")
def searchless_gateway(database_url: str) -> Iterator[str]:
    """A gateway whose search server is unreachable (nothing listens on the port)."""
    dead = f"http://127.0.0.1:{free_port()}"
    app = create_app(gateway_settings(database_url, dead, search_timeout_s=1.0), warm_up=False)
    base_url, server, thread = serve_in_thread(app)
    yield base_url
    server.should_exit = True
    thread.join(timeout=10)


def test_search_down_answers_the_same_both_ways(searchless_gateway: str) -> None:
    variables = {"q": "coffee", "near": HELSINKI, "radius": 2000.0, "first": 20}
    with httpx.Client(base_url=searchless_gateway, timeout=30) as http:
        plain, stored = both_ways(http, BENCH_QUERY, variables)
        again = answer(http.post("/graphql", json=persisted(BENCH_QUERY, variables, False)))
    assert b"SEARCH_UNAVAILABLE" in plain[2]
    assert stored == plain == again


RETRY = re.compile(rb"(resets in |\"retryAfter\":)\d+")


def _at_window_start() -> None:
    """Wait for a fresh counting window (fixed windows of WINDOW_S seconds), so that a
    slow search does not let the window end between the two requests of one path."""
    time.sleep(WINDOW_S - time.time() % WINDOW_S + 0.01)


def _limited(http: httpx.Client, key: str, body: dict[str, Any]) -> list[tuple[int, str, bytes]]:
    _at_window_start()
    sent = [answer(http.post("/graphql", json=body, headers={"X-API-Key": key})) for _ in range(2)]
    return [(status, kind, RETRY.sub(rb"\1<n>", content)) for status, kind, content in sent]


def test_a_partner_key_is_limited_the_same_both_ways(keys_gateway: str, make_key: Any) -> None:
    """Cost charge and its refusal: a key whose cost budget admits one page only."""
    variables = {"q": "coffee", "near": HELSINKI, "radius": 2000.0, "first": 5}
    with httpx.Client(base_url=keys_gateway, timeout=30) as http:
        http.post("/graphql", json=persisted(BENCH_QUERY, variables, True))
        for budget in (1, 25):  # refused at once; admitted once, then refused
            plain_key, stored_key = make_key(cost=budget), make_key(cost=budget)
            text = {"query": BENCH_QUERY, "variables": variables}
            plain = _limited(http, plain_key, text)
            stored = _limited(http, stored_key, persisted(BENCH_QUERY, variables, False))
            assert stored == plain
        assert [status for status, _, _ in stored] == [200, 429]
