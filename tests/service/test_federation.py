"""The Apollo Federation v2 subgraph at ``/graphql/subgraph``: ``_service`` SDL as checked in,
``_entities`` for Merchant, Store and Deal by global ID, composition with npm
``@apollo/composition``, and a public schema free of federation types."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from schema.build import build_schema
from schema.federation import build_subgraph_schema
from schema.ids import to_global_id
from tests.conftest import PRODUCTION_SECRETS, GraphQL, gateway_settings
from tests.helpers import HELSINKI
from tests.partners.fixtures import post, serve_gateway
from tests.service.test_standard_clients import node

ROOT = Path(__file__).resolve().parents[2]
SUBGRAPH_SDL = ROOT / "schema.subgraph.graphql"
ENTITIES = """query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Deal { id title merchant { id } }
    ... on Store { id name }
    ... on Merchant { id name }
  }
}"""
# A second subgraph, as a partner team would write it: it adds a field to our Deal by its key.
PARTNER_SUBGRAPH = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

type Deal @key(fields: "id") {
  id: ID!
  partnerScore: Int
}
"""


def missing(type_name: str) -> str:
    """A well-formed global ID of a ``type_name`` that does not exist."""
    return to_global_id(type_name, 987_654_321)


class Subgraph(GraphQL):
    """Posts to ``/graphql/subgraph``, with the same transport checks as ``/graphql``."""

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        response = await self.http.post(
            "/graphql/subgraph",
            json={"query": query, "variables": variables or {}},
            headers=headers,
        )
        assert response.status_code < 500, response.text
        assert "Traceback" not in response.text
        return response


@pytest.fixture
def subgraph(client: httpx.AsyncClient) -> GraphQL:
    return Subgraph(client)


def test_checked_in_subgraph_sdl_matches_the_code() -> None:
    checked_in = SUBGRAPH_SDL.read_text(encoding="utf-8")
    assert checked_in == build_subgraph_schema().as_str() + "\n", (
        "run: o2o export-schema --subgraph -o schema.subgraph.graphql"
    )
    assert 'type Deal implements Node @key(fields: "id"' in checked_in
    assert "union _Entity = Deal | Merchant | Store" in checked_in


def test_the_public_schema_carries_no_federation_noise() -> None:
    build_subgraph_schema()  # the keys are on the shared types only while it is built
    public = build_schema()
    sdl = public.as_str()
    for noise in ("@key", "@link", "_service", "_entities", "_Any", "_Entity", "_FieldSet"):
        assert noise not in sdl, noise
    assert sdl + "\n" == (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert {d.name for d in public._schema.directives}.isdisjoint({"key", "link"})


async def test_service_sdl_is_served_as_checked_in(subgraph: GraphQL, gql: GraphQL) -> None:
    data = await subgraph.data("{ _service { sdl } }")
    assert data["_service"]["sdl"] + "\n" == SUBGRAPH_SDL.read_text(encoding="utf-8")
    error = await gql.error("{ _service { sdl } }")  # the public endpoint has no such field
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_entities_resolve_deals_stores_and_merchants_by_global_id(
    subgraph: GraphQL, gql: GraphQL
) -> None:
    nearby = await gql.data(
        """query($near: GeoPointInput!) { nearbyDeals(near: $near, first: 1) { edges {
             store { id name } node { id title merchant { id name } } } } }""",
        {"near": HELSINKI},
    )
    (edge,) = nearby["nearbyDeals"]["edges"]
    deal, store, merchant = edge["node"], edge["store"], edge["node"]["merchant"]
    representations = [
        {"__typename": "Store", "id": store["id"]},
        {"__typename": "Deal", "id": deal["id"]},
        {"__typename": "Deal", "id": missing("Deal")},
        {"__typename": "Merchant", "id": merchant["id"]},
        {"__typename": "Merchant", "id": missing("Merchant")},
    ]
    body = await subgraph(ENTITIES, {"representations": representations})
    assert "errors" not in body, body["errors"]
    assert body["data"]["_entities"] == [
        {"__typename": "Store", **store},
        {"__typename": "Deal", "id": deal["id"], "title": deal["title"],
         "merchant": {"id": merchant["id"]}},
        None,  # no such deal: null, as the federation spec asks
        {"__typename": "Merchant", **merchant},
        None,
    ]  # fmt: skip


async def test_bad_representations_are_bad_user_input(subgraph: GraphQL) -> None:
    for representation in [
        {"__typename": "Booking", "id": missing("Booking")},
        {"__typename": "Deal"},
        {"__typename": "Deal", "id": 7},
        {"__typename": "Deal", "id": missing("Deal"), "title": "x"},
    ]:
        error = await subgraph.error(ENTITIES, {"representations": [representation]})
        assert error["extensions"]["code"] == "BAD_USER_INPUT", representation
    error = await subgraph.error(ENTITIES, {"representations": [{"__typename": "Deal", "id": "x"}]})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    wrong_type = {"__typename": "Deal", "id": missing("Store")}
    error = await subgraph.error(ENTITIES, {"representations": [wrong_type]})
    assert error["extensions"]["code"] == "NOT_FOUND"


def compose(tmp_path: Path, **subgraphs: str) -> dict[str, Any]:
    args = []
    for name, sdl in subgraphs.items():
        path = tmp_path / f"{name}.graphql"
        path.write_text(sdl, encoding="utf-8")
        args.append(f"{name}={path}")
    result: dict[str, Any] = node("compose.mjs", *args)
    return result


def test_the_subgraph_composes_with_one_that_extends_deal(tmp_path: Path) -> None:
    ours = SUBGRAPH_SDL.read_text(encoding="utf-8")
    result = compose(tmp_path, o2o=ours, partner=PARTNER_SUBGRAPH)
    assert result["ok"], result.get("errors")
    supergraph = result["supergraph"]
    for name in ("Deal", "Merchant", "Store"):
        assert '@join__type(graph: O2O, key: "id", resolvable: true)' in _type_of(
            supergraph, name
        ), name
    deal = _type_of(supergraph, "Deal")
    assert '@join__type(graph: PARTNER, key: "id")' in deal
    assert "partnerScore: Int @join__field(graph: PARTNER)" in deal
    assert "nearbyDeals(" in supergraph and "searchDeals(" in supergraph


def test_composition_reports_a_conflicting_subgraph(tmp_path: Path) -> None:
    conflicting = PARTNER_SUBGRAPH.replace("partnerScore: Int", "title: Int")
    result = compose(tmp_path, o2o=SUBGRAPH_SDL.read_text(encoding="utf-8"), other=conflicting)
    assert not result["ok"]
    assert any("Deal.title" in error for error in result["errors"]), result["errors"]


def _type_of(sdl: str, name: str) -> str:
    start = sdl.index(f"type {name} ")
    return sdl[start : sdl.index("\n}", start)]


async def test_production_gives_the_subgraph_sdl_to_partners_only(
    settings: Any, make_key: Callable[..., str]
) -> None:
    key = make_key()
    production = gateway_settings(
        settings.database_url,
        settings.elasticsearch_url,
        o2o_env="production",
        **PRODUCTION_SECRETS,
    )
    for base_url in serve_gateway(production):
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            service = "{ _service { sdl } }"
            response = await http.post("/graphql/subgraph", json={"query": service})
            assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            response = await http.post(
                "/graphql/subgraph", json={"query": service}, headers={"X-API-Key": key}
            )
            assert response.json()["data"]["_service"]["sdl"].startswith("schema @link(")
            assert (await post(http, "{ categories { slug } }")).status_code == 200
