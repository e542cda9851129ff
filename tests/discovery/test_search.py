"""searchDeals and autocomplete against the real search server, indexed from the seed."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.conftest import GraphQL
from tests.helpers import HELSINKI, SHANGHAI, deal_restored, decode_id, geodesic_m

SEARCH = """
query Search($q: String!, $near: GeoPointInput, $radius: Float, $filter: DealFilter,
             $sort: DealSort, $first: Int, $after: String) {
  searchDeals(query: $q, near: $near, radiusMeters: $radius, filter: $filter, sort: $sort,
              first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor score distanceMeters
      node { id title price { amount } merchant { name category { slug } } }
    }
  }
}"""

FACETS = """
query Facets($q: String!, $filter: DealFilter) {
  searchDeals(query: $q, filter: $filter, first: 5) {
    totalCount
    facets { categories { value count } priceRanges { from to count } }
    edges { highlights { field snippets } node { merchant { name } } }
  }
}"""


async def search(gql: GraphQL, text: str, **variables: Any) -> dict[str, Any]:
    data = await gql.data(SEARCH, {"q": text, **variables})
    connection: dict[str, Any] = data["searchDeals"]
    return connection


async def walk_search(gql: GraphQL, text: str, page_size: int, **variables: Any) -> list[Any]:
    edges: list[Any] = []
    after = None
    for _ in range(200):
        page = await search(gql, text, first=page_size, after=after, **variables)
        edges.extend(page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return edges
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("search paging did not end")


def merchant_names(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["merchant"]["name"] for edge in connection["edges"]]


async def test_accents_are_folded(gql: GraphQL) -> None:
    found = await search(gql, "thehuone")
    assert found["totalCount"] >= 1
    assert set(merchant_names(found)) == {"Théhuone"}


@pytest.mark.parametrize(
    ("typed", "merchant"),
    [("molly malonse", "Molly Malone's"), ("Karl Fazr", "Karl Fazer Café")],
)
async def test_typos_still_find_the_merchant(gql: GraphQL, typed: str, merchant: str) -> None:
    found = await search(gql, typed, first=3)
    assert merchant_names(found)[0] == merchant


async def test_chinese_words_match_inside_chinese_names(gql: GraphQL) -> None:
    found = await search(gql, "甜品", first=5)
    assert found["totalCount"] > 0
    assert all("甜品" in name for name in merchant_names(found))


@pytest.mark.parametrize(
    ("word", "category"),
    [
        ("咖啡", "cafe"),  # zh
        ("kahvila", "cafe"),  # fi
        ("bageri", "bakery"),  # sv
        ("leipomo", "bakery"),  # fi
        ("理发店", "hair_salon"),  # zh
    ],
)
async def test_category_words_in_other_languages_find_that_category(
    gql: GraphQL, word: str, category: str
) -> None:
    data = await gql.data(FACETS, {"q": word})
    facets = data["searchDeals"]["facets"]["categories"]
    assert facets[0]["value"] == category, facets
    found = await search(gql, word, first=10)
    assert {edge["node"]["merchant"]["category"]["slug"] for edge in found["edges"]} == {category}


async def test_facet_counts_add_up_to_the_total(gql: GraphQL) -> None:
    data = await gql.data(FACETS, {"q": "happy hour"})
    connection = data["searchDeals"]
    total = connection["totalCount"]
    assert total > 100
    assert sum(b["count"] for b in connection["facets"]["categories"]) == total
    assert sum(b["count"] for b in connection["facets"]["priceRanges"]) == total
    cafe = next(b["count"] for b in connection["facets"]["categories"] if b["value"] == "cafe")
    filtered = await gql.data(FACETS, {"q": "happy hour", "filter": {"categories": ["cafe"]}})
    assert filtered["searchDeals"]["totalCount"] == cafe


async def test_price_range_facets_match_the_prices(
    gql: GraphQL, sql: psycopg.Connection[Any]
) -> None:
    data = await gql.data(FACETS, {"q": "thehuone"})
    buckets = data["searchDeals"]["facets"]["priceRanges"]
    row = sql.execute(
        "SELECT d.price FROM deals d JOIN merchants m ON m.id = d.merchant_id"
        " WHERE m.name = 'Théhuone'"
    ).fetchone()
    assert row is not None
    price: Decimal = row[0]
    hit = [b for b in buckets if b["count"]]
    assert len(hit) == 1
    low = Decimal(hit[0]["from"] or "0")
    assert low <= price and (hit[0]["to"] is None or price < Decimal(hit[0]["to"]))


async def test_highlights_mark_the_matched_words(gql: GraphQL) -> None:
    data = await gql.data(FACETS, {"q": "thehuone"})
    highlights = data["searchDeals"]["edges"][0]["highlights"]
    assert {"field": "merchantName", "snippets": ["<em>Théhuone</em>"]} in highlights


async def test_highlights_asked_through_fragments_are_there(gql: GraphQL) -> None:
    data = await gql.data(
        """query { searchDeals(query: "thehuone") { ...Page } }
        fragment Page on DealSearchConnection {
          edges { ... on DealSearchEdge { highlights { field snippets } } }
        }"""
    )
    highlights = data["searchDeals"]["edges"][0]["highlights"]
    assert {"field": "merchantName", "snippets": ["<em>Théhuone</em>"]} in highlights


async def test_radius_is_a_hard_filter(gql: GraphQL, sql: psycopg.Connection[Any]) -> None:
    radius = 600.0
    inside = await walk_search(gql, "happy hour", 50, near=HELSINKI, radius=radius)
    assert inside
    # the index measures on a sphere, PostGIS on the spheroid: allow 0.5 % at the edge
    assert all(edge["distanceMeters"] <= radius * 1.005 for edge in inside)
    everywhere = await walk_search(gql, "happy hour", 100, near=HELSINKI, radius=radius * 3)
    expected = {e["node"]["id"] for e in everywhere if e["distanceMeters"] <= radius * 0.995}
    assert expected <= {edge["node"]["id"] for edge in inside}


async def test_nearer_matches_rank_higher_with_near(gql: GraphQL) -> None:
    found = await search(gql, "happy hour", near=HELSINKI, first=20)
    distances = [edge["distanceMeters"] for edge in found["edges"]]
    scores = [edge["score"] for edge in found["edges"]]
    assert scores == sorted(scores, reverse=True)
    # same text everywhere: closeness decides, so the first is among the nearest
    assert distances[0] <= sorted(distances)[2]


@pytest.mark.parametrize("sort", ["RELEVANCE", "DISTANCE", "RATING", "PRICE_ASC", "DISCOUNT"])
async def test_paging_is_stable_for_every_sort(gql: GraphQL, sort: str) -> None:
    near = {"near": HELSINKI, "radius": 700.0, "sort": sort}
    small = await walk_search(gql, "lunch", 7, **near)
    large = await walk_search(gql, "lunch", 100, **near)
    ids = [edge["node"]["id"] for edge in small]
    assert ids == [edge["node"]["id"] for edge in large]
    assert len(ids) == len(set(ids)) > 7
    if sort == "PRICE_ASC":
        prices = [Decimal(edge["node"]["price"]["amount"]) for edge in small]
        assert prices == sorted(prices)
    if sort == "DISTANCE":
        distances = [edge["distanceMeters"] for edge in small]
        assert all(b >= a * 0.995 for a, b in itertools.pairwise(distances))


OPEN_SEARCH = """
query Open($q: String!, $near: GeoPointInput, $radius: Float, $filter: DealFilter, $first: Int,
           $after: String, $at: DateTime!) {
  searchDeals(query: $q, near: $near, radiusMeters: $radius, filter: $filter, first: $first,
              after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    facets { categories { count } priceRanges { count } }
    edges { distanceMeters store { openAt(at: $at) } node { id } }
  }
}"""


async def walk_open(gql: GraphQL, page_size: int, **variables: Any) -> tuple[list[Any], int]:
    edges: list[Any] = []
    after = None
    totals = set()
    for _ in range(100):
        data = await gql.data(OPEN_SEARCH, {**variables, "first": page_size, "after": after})
        page = data["searchDeals"]
        totals.add(page["totalCount"])
        facets = page["facets"]
        assert sum(b["count"] for b in facets["categories"]) == page["totalCount"]
        assert sum(b["count"] for b in facets["priceRanges"]) == page["totalCount"]
        edges.extend(page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            assert len(totals) == 1 and len(edges) == totals.pop()
            return edges, len(edges)
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("paging did not end")


async def test_opening_hours_filter_search_results(gql: GraphQL) -> None:
    at = "2027-03-02T20:30:00+02:00"  # a Tuesday evening in Helsinki
    radius = 900.0
    where = {"q": "happy hour", "near": HELSINKI, "radius": radius, "at": at}
    small, total = await walk_open(gql, 7, **where, filter={"openAt": at})
    large, _ = await walk_open(gql, 100, **where, filter={"openAt": at})
    assert [e["node"]["id"] for e in small] == [e["node"]["id"] for e in large]
    assert total > 0
    assert all(e["store"]["openAt"] is True and e["distanceMeters"] <= radius for e in small)

    everything = await walk_search(gql, "happy hour", 100, near=HELSINKI, radius=radius)
    expected = set()
    for edge in everything:
        stores = await gql.data(
            "query($id: ID!, $at: DateTime!) { deal(id: $id) { stores {"
            " openAt(at: $at) location { lat lng } } } }",
            {"id": edge["node"]["id"], "at": at},
        )
        if any(
            store["openAt"]
            and geodesic_m(HELSINKI["lat"], HELSINKI["lng"], *store["location"].values()) <= radius
            for store in stores["deal"]["stores"]
        ):
            expected.add(edge["node"]["id"])
    assert {e["node"]["id"] for e in small} == expected
    assert len(expected) < len(everything)  # the filter did filter


async def test_prices_come_from_postgresql(gql: GraphQL, sql: psycopg.Connection[Any]) -> None:
    found = await search(gql, "thehuone")
    deal_id = decode_id(found["edges"][0]["node"]["id"])
    with deal_restored(sql, deal_id):
        sql.execute("UPDATE deals SET price = 1.23 WHERE id = %s", [deal_id])
        again = await search(gql, "thehuone")
        assert again["edges"][0]["node"]["price"]["amount"] == "1.23"


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"q": "   "}, "query"),
        ({"q": "x" * 201}, "query"),
        ({"q": "pub", "first": 101}, "first"),
        ({"q": "pub", "radius": 500.0}, "radiusMeters"),
        ({"q": "pub", "sort": "DISTANCE"}, "sort"),
        ({"q": "pub", "near": {"lat": 91, "lng": 0}}, "near.lat"),
        ({"q": "pub", "after": "bm9wZQ"}, "after"),
        (
            {"q": "pub", "filter": {"openNow": True, "openAt": "2027-03-02T12:00:00+02:00"}},
            "filter.openAt",
        ),
        ({"q": "pub", "filter": {"priceMin": "ten"}}, "filter.priceMin"),
    ],
)
async def test_bad_search_input_is_bad_user_input(
    gql: GraphQL, variables: dict[str, Any], argument: str
) -> None:
    error = await gql.error(SEARCH, variables)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}


async def test_a_cursor_of_another_sort_is_rejected(gql: GraphQL) -> None:
    page = await search(gql, "lunch", first=2)
    cursor = page["pageInfo"]["endCursor"]
    error = await gql.error(SEARCH, {"q": "lunch", "after": cursor, "sort": "PRICE_ASC"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


AUTOCOMPLETE = """
query Suggest($prefix: String!, $near: GeoPointInput, $limit: Int) {
  autocomplete(prefix: $prefix, near: $near, limit: $limit) { text kind id }
}"""


@pytest.mark.parametrize(
    ("prefix", "text", "kind"),
    [
        ("molly mal", "Molly Malone's", "MERCHANT"),
        ("mooly", "Molly Malone's", "MERCHANT"),
        ("theh", "Théhuone", "MERCHANT"),
        ("kahv", "Cafe", "CATEGORY"),
    ],
)
async def test_autocomplete_suggests_merchants_and_categories(
    gql: GraphQL, prefix: str, text: str, kind: str
) -> None:
    data = await gql.data(AUTOCOMPLETE, {"prefix": prefix, "near": HELSINKI})
    suggestions = data["autocomplete"]
    assert {"text": text, "kind": kind} in [
        {"text": s["text"], "kind": s["kind"]} for s in suggestions
    ], suggestions
    assert len(suggestions) <= 8


async def test_autocomplete_prefers_what_is_near(gql: GraphQL) -> None:
    async def first_merchant(near: dict[str, float]) -> str:
        data = await gql.data(AUTOCOMPLETE, {"prefix": "hot", "near": near})
        return str(next(s["text"] for s in data["autocomplete"] if s["kind"] == "MERCHANT"))

    # "hot" matches Helsinki hotels and the synthetic Chinese layer's hotpots ("... (demo)")
    assert not (await first_merchant(HELSINKI)).endswith("(demo)")
    assert (await first_merchant(SHANGHAI)).endswith("(demo)")


async def test_autocomplete_speaks_the_request_language(gql: GraphQL) -> None:
    body = await gql(AUTOCOMPLETE, {"prefix": "kahvila"}, **{"Accept-Language": "zh-CN"})
    texts = [s["text"] for s in body["data"]["autocomplete"] if s["kind"] == "CATEGORY"]
    assert texts == ["咖啡餐馆"]


async def test_autocomplete_ids_resolve_to_what_they_name(gql: GraphQL) -> None:
    data = await gql.data(AUTOCOMPLETE, {"prefix": "molly", "limit": 1})
    (suggestion,) = data["autocomplete"]
    node = await gql.data(
        "query($id: ID!) { node(id: $id) { ... on Merchant { name } } }", {"id": suggestion["id"]}
    )
    assert node["node"]["name"] == suggestion["text"]


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"prefix": ""}, "prefix"),
        ({"prefix": "a", "limit": 0}, "limit"),
        ({"prefix": "a", "limit": 21}, "limit"),
    ],
)
async def test_bad_autocomplete_input(
    gql: GraphQL, variables: dict[str, Any], argument: str
) -> None:
    error = await gql.error(AUTOCOMPLETE, variables)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}
