"""Compiled nearby operations answer byte for byte as normal execution does.

Every nearbyDeals/nearbyMerchants document of the test suite (string constants found in the
test modules, and the paging query of ``tests.helpers.walk`` with the suite's selections),
hand-written ones with fragments, aliases and bad input, and generated ones
(hypothesis-graphql, restricted to those root fields) run twice: as plain text (normal
execution) and as a persisted query (the compiled plan when there is one). Status, media
type and body bytes must be equal.
"""

from __future__ import annotations

import ast
import hashlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableDefinitionNode,
    VariableNode,
    parse,
    print_ast,
)
from graphql import build_schema as graphql_build_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries

from commerce.discovery.nearby import Columns
from gateway.settings import Settings
from schema.build import build_schema
from schema.compiled import Compiler, Plan
from tests.conftest import RunningServer, gateway_settings
from tests.helpers import HELSINKI, SHANGHAI, walk_query
from tests.partners.fixtures import WINDOW_S, serve_gateway, window_left_wait

ROOTS = ("nearbyDeals", "nearbyMerchants")
TESTS = Path(__file__).resolve().parents[1]

DEAL_SELECTIONS = (
    """store { id location { lat lng } }
       node { id price { amount } discountPercent merchant { rating category { slug } } }""",
    "node { id title }",
    "node { id validFrom validUntil remainingQuantity totalQuantity perUserLimit "
    "requiresBooking originalPrice { amount currency } description }",
    "store { name address timezone openingHours isOpenNow merchant { id name } }",
)
MERCHANT_SELECTIONS = (
    "nearestStore { id merchant { id } } node { id name }",
    "node { rating }",
    "node { id name localizedName priceLevel reviewCount category { id slug name } }",
)

HANDWRITTEN = (
    """query Deals($near: GeoPointInput!, $first: Int = 3) {
         nearbyDeals(near: $near, first: $first) { ...Page } }
       fragment Page on NearbyDealConnection {
         totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
         edges { ...Edge cursor }
       }
       fragment Edge on NearbyDealEdge {
         distanceMeters node { ... on Node { id } ...DealBits } store { ...StoreBits }
       }
       fragment DealBits on Deal { title price { amount currency } merchant { ...M } }
       fragment StoreBits on Store { id name location { lat } merchant { ...M } }
       fragment M on Merchant { id name rating category { name } }""",
    """query($near: GeoPointInput!) {
         deals: nearbyDeals(near: $near, radiusMeters: 1500, sort: PRICE_ASC, first: 4) {
           edges { n: node { t: title id title } node { price { amount } } cursor }
           pageInfo { endCursor }
         }
       }""",
    """query($near: GeoPointInput!, $sort: MerchantSort) {
         nearbyMerchants(near: $near, sort: $sort, first: 6) {
           totalCount edges { distanceMeters node { ... on Merchant { name rating } } }
         }
       }""",
    """query($near: GeoPointInput!, $radius: Float, $first: Int, $after: String) {
         nearbyDeals(near: $near, radiusMeters: $radius, first: $first, after: $after) {
           edges { cursor node { id } } pageInfo { hasNextPage endCursor }
         }
       }""",
    # not compiled (fall back to normal execution): __typename, a list of stores, a directive
    """query($near: GeoPointInput!) {
         nearbyDeals(near: $near, first: 2) { __typename edges { node { id stores { id } } } }
       }""",
    """query($near: GeoPointInput!, $skip: Boolean = false) {
         nearbyDeals(near: $near, first: 2) { edges { node { id @skip(if: $skip) } } }
       }""",
)

VARIABLES: tuple[dict[str, Any], ...] = (
    {"near": HELSINKI},
    {"near": HELSINKI, "radius": 700.0, "first": 5, "sort": "DISTANCE"},
    {"near": HELSINKI, "radius": 2500.0, "first": 7, "sort": "RATING"},
    {"near": SHANGHAI, "radius": 3000.0, "first": 5, "sort": "PRICE_DESC"},
    {"near": SHANGHAI, "radius": 3000.0, "first": 3, "sort": "DISCOUNT"},
    {"near": HELSINKI, "radius": 2000.0, "first": 4, "filter": {"minRating": 4}},
    # bad input: answered by normal execution both ways
    {"near": {"lat": 91, "lng": 0}},
    {"near": HELSINKI, "radius": -1.0},
    {"near": HELSINKI, "first": 0},
    {"near": HELSINKI, "after": "not-a-cursor"},
    {"near": HELSINKI, "radius": "far"},
    {},
)


def suite_documents() -> list[str]:
    """String constants of the test modules that are nearby GraphQL documents."""
    found: list[str] = []
    for path in sorted(TESTS.rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and any(root in text for root in ROOTS):
                try:
                    document = parse(text)
                except GraphQLError:
                    continue
                if any(isinstance(d, OperationDefinitionNode) for d in document.definitions):
                    found.append(text)
    return found


def documents() -> list[str]:
    walks = [walk_query("nearbyDeals", s) for s in DEAL_SELECTIONS]
    walks += [walk_query("nearbyMerchants", s) for s in MERCHANT_SELECTIONS]
    return [*suite_documents(), *walks, *HANDWRITTEN]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(text: str, variables: dict[str, Any], with_text: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "variables": variables,
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(text)}},
    }
    if with_text:
        body["query"] = text
    return body


ATTRIBUTION_TOKEN = re.compile(rb'"attribution":"[^"]*"')


def errors_by_path(body: bytes) -> bytes:
    """The answer with its errors sorted by path when there are several: root fields resolve
    concurrently, so graphql-core lists their errors in the order they completed (two normal
    executions of one document may differ there; such documents are never compiled)."""
    if body.count(b'"path"') < 2:
        return body
    data = orjson.loads(body)
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list) or len(errors) < 2:
        return body
    data["errors"] = sorted(errors, key=lambda error: orjson.dumps(error.get("path")))
    return orjson.dumps(data)


def answer(response: httpx.Response) -> tuple[int, str, bytes]:
    # Attribution tokens carry the instant they were signed, so two answers a second apart
    # differ there by design; the compiled path leaves that field to normal execution anyway.
    body = ATTRIBUTION_TOKEN.sub(rb'"attribution":"<token>"', response.content)
    return response.status_code, response.headers["content-type"], errors_by_path(body)


def both_ways(
    http: httpx.Client, text: str, variables: dict[str, Any], **headers: str
) -> tuple[tuple[int, str, bytes], tuple[int, str, bytes]]:
    """(normal execution, persisted) answers of one request."""
    plain = http.post("/graphql", json={"query": text, "variables": variables}, headers=headers)
    http.post("/graphql", json=persisted(text, variables, True), headers=headers)
    stored = http.post("/graphql", json=persisted(text, variables, False), headers=headers)
    return answer(plain), answer(stored)


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def compiler_of(server: RunningServer) -> Compiler:
    compiler: Compiler = server.app.state.compiler
    return compiler


def test_the_suite_has_nearby_documents() -> None:
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
    second_page = second_page_variables(http, text)
    if second_page is not None:
        plain, stored = both_ways(http, text, second_page)
        assert stored == plain
    if answered and compiler.plan(sha(text), text, None) is not None:
        assert compiler.answered > before  # the compiled path ran for the good variables


def second_page_variables(http: httpx.Client, text: str) -> dict[str, Any] | None:
    """Variables continuing after the first page, when the document pages with ``$after``."""
    if "$after" not in text:
        return None
    first = {"near": HELSINKI, "radius": 2500.0, "first": 3}
    body = http.post("/graphql", json={"query": text, "variables": first}).json()
    connection = next(iter((body.get("data") or {}).values()), None) or {}
    end = (connection.get("pageInfo") or {}).get("endCursor")
    return None if end is None else {**first, "after": end}


def test_plans_exist_only_for_what_the_compiler_knows(server: RunningServer) -> None:
    compiler = compiler_of(server)
    walks = [walk_query("nearbyDeals", s) for s in DEAL_SELECTIONS]
    walks += [walk_query("nearbyMerchants", s) for s in MERCHANT_SELECTIONS]
    for text in [*walks, *HANDWRITTEN]:
        plan = compiler.plan(sha(text), text, None)
        unknown = "__typename" in text or "@skip" in text or "stores {" in text
        assert (plan is None) == unknown, text
    compiled = [t for t in suite_documents() if compiler.plan(sha(t), t, None) is not None]
    assert len(compiled) >= 3


def test_unknown_hash_then_registration_then_compiled(http: httpx.Client) -> None:
    text = "query($near: GeoPointInput!) { nearbyDeals(near: $near, first: 1) { totalCount } }"
    text += " # " + hashlib.sha1(str(id(http)).encode()).hexdigest()  # unknown to Redis
    missing = http.post("/graphql", json=persisted(text, {"near": HELSINKI}, False))
    assert missing.status_code == 200
    assert missing.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    wrong = persisted(text, {"near": HELSINKI}, True)
    wrong["query"] = text + " "
    refused = http.post("/graphql", json=wrong)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"] == "provided sha does not match query"
    registered = http.post("/graphql", json=persisted(text, {"near": HELSINKI}, True))
    again = http.post("/graphql", json=persisted(text, {"near": HELSINKI}, False))
    assert registered.content == again.content
    assert again.json()["data"]["nearbyDeals"]["totalCount"] > 0


def test_persisted_queries_over_get(http: httpx.Client) -> None:
    text = "{ nearbyDeals(near: {lat: 60.1699, lng: 24.9384}, first: 2) { totalCount } }"
    http.post("/graphql", json=persisted(text, {}, True))
    extensions = '{"persistedQuery":{"version":1,"sha256Hash":"' + sha(text) + '"}}'
    response = http.get(
        "/graphql", params={"extensions": extensions}, headers={"Accept": "application/json"}
    )
    assert response.json() == http.post("/graphql", json={"query": text}).json()


def test_a_bad_extension_is_a_bad_request(http: httpx.Client) -> None:
    body = {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "00"}}}
    response = http.post("/graphql", json=body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_a_partner_key_is_limited_the_same_both_ways(keys_gateway: str, make_key: Any) -> None:
    """Cost charge and its refusal: a key whose cost budget admits one page only."""
    text = walk_query("nearbyDeals", "node { id title }")
    variables = {"near": HELSINKI, "first": 5}
    with httpx.Client(base_url=keys_gateway, timeout=30) as http:
        http.post("/graphql", json=persisted(text, variables, True))
        for budget in (1, 25):  # refused at once; admitted once, then refused
            plain_key, stored_key = make_key(cost=budget), make_key(cost=budget)
            # each path's two requests in one counting window, however slow the machine
            time.sleep(window_left_wait(WINDOW_S - 0.1))
            plain = [
                answer(
                    http.post(
                        "/graphql",
                        json={"query": text, "variables": variables},
                        headers={"X-API-Key": plain_key},
                    )
                )
                for _ in range(2)
            ]
            time.sleep(window_left_wait(WINDOW_S - 0.1))
            stored = [
                answer(
                    http.post(
                        "/graphql",
                        json=persisted(text, variables, False),
                        headers={"X-API-Key": stored_key},
                    )
                )
                for _ in range(2)
            ]
            assert [a[:2] for a in stored] == [a[:2] for a in plain]
            assert [a[2] for a in stored] == [a[2] for a in plain]


INSTANTS = ("2026-06-01T12:00:00+03:00", "2026-01-01T03:00:00Z", "yesterday")
CUSTOM_SCALARS = {
    "DateTime": st.sampled_from(INSTANTS).map(lambda v: StringValueNode(value=v)),
    "Date": st.sampled_from(["2026-01-01", "2026-12-24"]).map(lambda v: StringValueNode(value=v)),
}
# Fields whose value is the request's own instant (Store.nextOpenAt of an open store is
# "now"): two requests a few milliseconds apart answer them differently on any path.
INSTANT_FIELDS = {"Store": ["nextOpenAt"]}


def generated_schema() -> GraphQLSchema:
    """The served schema without the instant-valued fields, for generating documents."""
    schema = graphql_build_schema(build_schema().as_str())
    for type_name, names in INSTANT_FIELDS.items():
        named = schema.get_type(type_name)
        assert isinstance(named, GraphQLObjectType)
        for name in names:
            del named.fields[name]
    return schema


ROOT_ARGUMENTS = st.fixed_dictionaries(
    {
        "near": st.sampled_from([HELSINKI, SHANGHAI, {"lat": 60.17, "lng": 24.94}]),
        "radius": st.sampled_from([None, 300.0, 1200.0, 2500.0, 60_000.0]),
        "first": st.sampled_from([None, 1, 3, 10, 101]),
    }
)


@settings(
    max_examples=60,
    derandomize=True,  # the same documents every run; tests/service/test_fuzz.py explores
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    query=queries(generated_schema(), fields=ROOTS, custom_scalars=CUSTOM_SCALARS),
    values=ROOT_ARGUMENTS,
)
def test_generated_documents_answer_the_same_both_ways(
    http: httpx.Client, query: str, values: dict[str, Any]
) -> None:
    """hypothesis-graphql's documents as written, and with their root arguments replaced by
    variables around the seeded cities (so that they find something)."""
    plain, stored = both_ways(http, query, {})
    assert stored == plain
    with_variables = _with_variables(query)
    if with_variables is not None:
        plain, stored = both_ways(http, with_variables, values)
        assert stored == plain


def _with_variables(query: str) -> str | None:
    """The generated document with ``near``, ``radiusMeters`` and ``first`` from variables."""
    operation = parse(query).definitions[0]
    if not isinstance(operation, OperationDefinitionNode):
        return None
    roots = []
    for root in operation.selection_set.selections:
        if not isinstance(root, FieldNode):
            return None
        kept = [a for a in root.arguments or () if a.name.value not in REPLACED]
        arguments = (*kept, *(_argument(name, var) for name, var in REPLACED.items()))
        roots.append(
            FieldNode(
                alias=root.alias,
                name=root.name,
                arguments=arguments,
                directives=(),
                selection_set=root.selection_set,
            )
        )
    rewritten = OperationDefinitionNode(
        operation=operation.operation,
        variable_definitions=tuple(_definition(name, kind) for name, kind in VARIABLE_TYPES),
        directives=(),
        selection_set=SelectionSetNode(selections=tuple(roots)),
    )
    return print_ast(DocumentNode(definitions=(rewritten,)))


REPLACED = {"near": "near", "radiusMeters": "radius", "first": "first"}
VARIABLE_TYPES = (("near", "GeoPointInput!"), ("radius", "Float"), ("first", "Int"))


def _definition(name: str, kind: str) -> VariableDefinitionNode:
    named = NamedTypeNode(name=NameNode(value=kind.rstrip("!")))
    return VariableDefinitionNode(
        variable=VariableNode(name=NameNode(value=name)),
        type=NonNullTypeNode(type=named) if kind.endswith("!") else named,
        directives=(),
    )


def _argument(name: str, variable: str) -> ArgumentNode:
    value = VariableNode(name=NameNode(value=variable))
    return ArgumentNode(name=NameNode(value=name), value=value)


def test_a_plan_selects_only_the_columns_it_reads(server: RunningServer) -> None:
    text = """query($near: GeoPointInput!) { nearbyDeals(near: $near, first: 20) { edges {
        distanceMeters
        node { id title price { amount currency } discountPercent merchant { name rating } }
    } } }"""
    plan = compiler_of(server).plan(sha(text), text, None)
    assert isinstance(plan, Plan)
    assert plan.columns == Columns(
        store=(),
        merchant=("id", "name", "rating"),
        deal=("id", "merchant_id", "title", "price", "currency", "discount_percent"),
    )
    stores = walk_query("nearbyMerchants", "nearestStore { isOpenNow location { lat } }")
    plan = compiler_of(server).plan(sha(stores), stores, None)
    assert isinstance(plan, Plan)
    wanted = ("lat", "lng", "timezone", "country_code", "opening_hours", "special_hours")
    assert plan.columns.store == wanted


# What differs between two answers by design: the request id, the date, what is left of
# the budget (one request later).
# per request, or per second (the rate window: two requests may straddle one of its seconds)
VARYING = {"x-request-id", "date", "ratelimit-remaining", "ratelimit-reset"}


def heads(response: httpx.Response) -> list[tuple[str, str]]:
    return [(k, "" if k in VARYING else v) for k, v in response.headers.multi_items()]


@pytest.fixture(scope="module")
def cors_gateway(settings: Settings) -> Iterator[str]:
    yield from serve_gateway(
        gateway_settings(
            settings.database_url,
            settings.elasticsearch_url,
            cors_allow_origins="https://app.example",
        )
    )


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
def test_the_hot_path_answers_with_the_same_headers(
    cors_gateway: str, make_key: Any, accept: str
) -> None:
    """Status, header names, order and values (request id, rate-limit fields, CORS, media
    type, length) of a compiled answer are those of normal execution."""
    text = walk_query("nearbyDeals", "node { id title }")
    variables = {"near": HELSINKI, "first": 3}
    key = make_key(rate=1000)
    headers = {"X-API-Key": key, "Origin": "https://app.example", "Accept": accept}
    with httpx.Client(base_url=cors_gateway, timeout=30) as http:
        http.post("/graphql", json=persisted(text, variables, True), headers=headers)
        plain = http.post("/graphql", json={"query": text, "variables": variables}, headers=headers)
        stored = http.post("/graphql", json=persisted(text, variables, False), headers=headers)
        echoed = http.post(
            "/graphql",
            json=persisted(text, variables, False),
            headers={**headers, "X-Request-ID": "caller-id-1"},
        )
    assert (stored.status_code, heads(stored)) == (plain.status_code, heads(plain))
    assert stored.content == plain.content
    assert stored.headers["access-control-allow-origin"] == "https://app.example"
    assert stored.headers["ratelimit-limit"] == "1000"
    assert 0 <= int(stored.headers["ratelimit-reset"]) <= 60  # a one-minute window
    assert echoed.headers["x-request-id"] == "caller-id-1"


def test_the_short_stack_answers_as_the_whole_stack(cors_gateway: str, make_key: Any) -> None:
    """A plain ``POST /graphql`` skips Starlette's exception layer and router
    (``gateway.hot``); the same request with a query string goes through them. Status,
    headers and bytes are the same, for compiled, normal, refused and malformed requests."""
    text = walk_query("nearbyDeals", "node { id title }")
    variables = {"near": HELSINKI, "first": 3}
    key = make_key(rate=1000)
    browser = {"X-API-Key": key, "Origin": "https://app.example"}
    cases: list[tuple[dict[str, str], bytes]] = [
        (browser, orjson.dumps(persisted(text, variables, False))),
        (browser, orjson.dumps({"query": text, "variables": variables})),
        ({**browser, "Origin": "https://elsewhere.example"}, orjson.dumps({"query": text})),
        ({"X-API-Key": "not-a-key"}, orjson.dumps(persisted(text, variables, False))),
        ({}, b'{"query": '),
        ({"Content-Type": "text/plain"}, b"{ categories { slug } }"),
    ]
    with httpx.Client(base_url=cors_gateway, timeout=30) as http:
        http.post("/graphql", json=persisted(text, variables, True), headers=browser)
        for headers, body in cases:
            sent = {"Content-Type": "application/json", **headers}
            short = http.post("/graphql", content=body, headers=sent)
            whole = http.post("/graphql?via=router", content=body, headers=sent)
            assert (short.status_code, heads(short)) == (whole.status_code, heads(whole)), body
            assert short.content == whole.content, body
