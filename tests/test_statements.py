"""No N+1: a page of deals costs a constant number of SQL statements, whatever its size."""

from __future__ import annotations

from tests.conftest import GraphQL, RunningServer
from tests.helpers import HELSINKI

WIDE = """query($near: GeoPointInput!, $first: Int) {
  nearbyDeals(near: $near, radiusMeters: 3000, first: $first) {
    totalCount
    edges {
      distanceMeters
      store { name isOpenNow merchant { name } }
      node {
        title price { amount currency }
        stores { name }
        merchant {
          name rating category { name }
          ratingSummary { average histogram }
          stores { name }
          deals(first: 3) { totalCount edges { node { title } } }
          reviews(first: 2, sort: HIGHEST) { edges { node { rating text } } }
        }
      }
    }
  }
}"""


async def _statements_for(gql: GraphQL, server: RunningServer, first: int) -> tuple[int, int]:
    server.statements.clear()
    data = await gql.data(WIDE, {"near": HELSINKI, "first": first})
    return server.statements.count(), len(data["nearbyDeals"]["edges"])


async def test_a_page_of_100_costs_the_same_statements_as_a_page_of_2(
    gql: GraphQL, server: RunningServer
) -> None:
    await gql.data(WIDE, {"near": HELSINKI, "first": 1})  # warm pools and caches
    small, small_edges = await _statements_for(gql, server, 2)
    large, large_edges = await _statements_for(gql, server, 100)
    assert (small_edges, large_edges) == (2, 100)
    assert large == small
    # nearby query, merchants, categories, rating summaries, merchant stores, deal stores,
    # deal pages, deal counts, review pages: one statement each
    assert large <= 9


async def test_the_benchmark_query_costs_one_statement(gql: GraphQL, server: RunningServer) -> None:
    query = """query($near: GeoPointInput!) { nearbyDeals(near: $near, first: 20) {
      edges { distanceMeters node { id title price { amount } merchant { name rating } } } } }"""
    await gql.data(query, {"near": HELSINKI})
    server.statements.clear()
    await gql.data(query, {"near": HELSINKI})
    assert server.statements.count() == 1
