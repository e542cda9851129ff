"""Lookups by ID and a merchant's own lists (reviews, deals, rating summary) over HTTP."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.helpers import deal_restored, decode_id

REVIEWS = """query($id: ID!, $first: Int, $after: String, $sort: ReviewSort) {
  merchant(id: $id) {
    reviewCount rating
    ratingSummary { average count histogram }
    reviews(first: $first, after: $after, sort: $sort) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { id rating createdAt text authorName verified merchantReply } }
    }
  }
}"""


@pytest.fixture(scope="module")
def busy_merchant(sql: psycopg.Connection[Any]) -> int:
    row = sql.execute(
        "SELECT merchant_id FROM reviews GROUP BY merchant_id"
        " HAVING count(DISTINCT rating) >= 3 ORDER BY count(*) DESC, merchant_id LIMIT 1"
    ).fetchone()
    assert row is not None
    return int(row[0])


async def _walk_reviews(gql: GraphQL, merchant_id: int, sort: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        variables = {"id": to_global_id("Merchant", merchant_id), "first": 2, "after": after}
        data = await gql.data(REVIEWS, {**variables, "sort": sort})
        connection = data["merchant"]["reviews"]
        nodes += [edge["node"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return nodes
        after = connection["pageInfo"]["endCursor"]


@pytest.mark.parametrize("sort", ["NEWEST", "HIGHEST", "LOWEST"])
async def test_reviews_are_sorted_and_paged_completely(
    gql: GraphQL, sql: psycopg.Connection[Any], busy_merchant: int, sort: str
) -> None:
    order = {
        "NEWEST": "created_at DESC, id DESC",
        "HIGHEST": "rating DESC, created_at DESC, id DESC",
        "LOWEST": "rating ASC, created_at DESC, id DESC",
    }[sort]
    expected = [
        row[0]
        for row in sql.execute(
            f"SELECT id FROM reviews WHERE merchant_id = %s ORDER BY {order}", [busy_merchant]
        ).fetchall()
    ]
    nodes = await _walk_reviews(gql, busy_merchant, sort)
    assert [decode_id(node["id"]) for node in nodes] == expected


async def test_rating_summary_matches_the_reviews(
    gql: GraphQL, sql: psycopg.Connection[Any], busy_merchant: int
) -> None:
    rows = sql.execute(
        "SELECT rating FROM reviews WHERE merchant_id = %s", [busy_merchant]
    ).fetchall()
    ratings = [r[0] for r in rows]
    data = await gql.data(REVIEWS, {"id": to_global_id("Merchant", busy_merchant), "first": 1})
    merchant = data["merchant"]
    summary = merchant["ratingSummary"]
    assert summary["count"] == merchant["reviewCount"] == len(ratings)
    assert summary["histogram"] == [ratings.count(star) for star in range(1, 6)]
    assert summary["average"] == pytest.approx(sum(ratings) / len(ratings), abs=0.005)
    assert merchant["rating"] == summary["average"]
    assert merchant["reviews"]["totalCount"] == len(ratings)


async def test_merchant_without_reviews_has_an_empty_summary(
    gql: GraphQL, sql: psycopg.Connection[Any]
) -> None:
    row = sql.execute("SELECT id FROM merchants WHERE review_count = 0 LIMIT 1").fetchone()
    assert row is not None
    data = await gql.data(REVIEWS, {"id": to_global_id("Merchant", row[0])})
    merchant = data["merchant"]
    assert merchant["rating"] is None
    assert merchant["ratingSummary"] == {"average": None, "count": 0, "histogram": [0] * 5}
    assert merchant["reviews"]["edges"] == []


async def test_merchant_deals_page_by_id(gql: GraphQL, sql: psycopg.Connection[Any]) -> None:
    row = sql.execute(
        "SELECT merchant_id, array_agg(id ORDER BY id) FROM deals GROUP BY merchant_id"
        " HAVING count(*) = 3 LIMIT 1"
    ).fetchone()
    assert row is not None
    merchant_id, deal_ids = row
    query = """query($id: ID!, $after: String) { merchant(id: $id) {
      deals(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor }
                                       edges { node { id merchant { id } } } } } }"""
    first = (await gql.data(query, {"id": to_global_id("Merchant", merchant_id)}))["merchant"]
    after = first["deals"]["pageInfo"]["endCursor"]
    second = (await gql.data(query, {"id": to_global_id("Merchant", merchant_id), "after": after}))[
        "merchant"
    ]
    ids = [decode_id(e["node"]["id"]) for e in first["deals"]["edges"] + second["deals"]["edges"]]
    assert ids == deal_ids
    assert first["deals"]["totalCount"] == 3
    assert first["deals"]["pageInfo"]["hasNextPage"] is True
    assert second["deals"]["pageInfo"]["hasNextPage"] is False


async def test_node_resolves_every_type(gql: GraphQL, sql: psycopg.Connection[Any]) -> None:
    row = sql.execute(
        "SELECT d.id, d.merchant_id, ds.store_id, r.id FROM deals d"
        " JOIN deal_stores ds ON ds.deal_id = d.id JOIN reviews r ON r.merchant_id = d.merchant_id"
        " ORDER BY d.id LIMIT 1"
    ).fetchone()
    assert row is not None
    deal_id, merchant_id, store_id, review_id = row
    for type_name, ident, typename in [
        ("Deal", deal_id, "Deal"),
        ("Merchant", merchant_id, "Merchant"),
        ("Store", store_id, "Store"),
        ("Review", review_id, "Review"),
        ("Category", "cafe", "Category"),
    ]:
        global_id = to_global_id(type_name, ident)
        data = await gql.data(
            "query($id: ID!) { node(id: $id) { __typename id } }", {"id": global_id}
        )
        assert data["node"] == {"__typename": typename, "id": global_id}


async def test_deal_fields_and_relations(gql: GraphQL, sql: psycopg.Connection[Any]) -> None:
    row = sql.execute(
        "SELECT id, merchant_id, price::text, original_price::text, currency, discount_percent"
        " FROM deals WHERE original_price IS NOT NULL ORDER BY id LIMIT 1"
    ).fetchone()
    assert row is not None
    deal_id, merchant_id, price, original, currency, discount = row
    query = """query($id: ID!) { deal(id: $id) {
      id price { amount currency } originalPrice { amount currency } discountPercent
      validFrom validUntil remainingQuantity perUserLimit requiresBooking
      merchant { id } stores { id location { lat lng } } } }"""
    deal = (await gql.data(query, {"id": to_global_id("Deal", deal_id)}))["deal"]
    assert deal["price"] == {"amount": price, "currency": currency}
    assert deal["originalPrice"] == {"amount": original, "currency": currency}
    assert deal["discountPercent"] == discount > 0
    assert deal["merchant"]["id"] == to_global_id("Merchant", merchant_id)
    assert deal["stores"]
    assert deal["validFrom"].endswith("+00:00")


async def test_relevance_without_text_is_distance(gql: GraphQL) -> None:
    query = """query($sort: DealSort) { nearbyDeals(near: {lat: 60.1699, lng: 24.9384},
      first: 15, sort: $sort) { edges { node { id } } } }"""
    relevance = await gql.data(query, {"sort": "RELEVANCE"})
    distance = await gql.data(query, {"sort": "DISTANCE"})
    assert relevance == distance


async def test_expired_deals_leave_the_merchant_list(
    gql: GraphQL, sql: psycopg.Connection[Any]
) -> None:
    row = sql.execute(
        "SELECT merchant_id, min(id), count(*) FROM deals GROUP BY merchant_id"
        " HAVING count(*) = 2 ORDER BY merchant_id LIMIT 1"
    ).fetchone()
    assert row is not None
    merchant_id, expiring, count = row
    query = """query($id: ID!) { merchant(id: $id) {
      deals { totalCount edges { node { id } } } } }"""
    variables = {"id": to_global_id("Merchant", merchant_id)}
    with deal_restored(sql, expiring):
        sql.execute(
            "UPDATE deals SET valid_from = now() - interval '2 days',"
            " valid_until = now() - interval '1 day' WHERE id = %s",
            [expiring],
        )
        deals = (await gql.data(query, variables))["merchant"]["deals"]
        assert deals["totalCount"] == count - 1
        assert to_global_id("Deal", expiring) not in [e["node"]["id"] for e in deals["edges"]]
