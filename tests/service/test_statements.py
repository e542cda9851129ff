"""No N+1: a page of deals costs a constant number of SQL statements, whatever its size."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import GraphQL, RunningServer
from tests.helpers import HELSINKI
from tests.orders.fixtures import Caller, ShopFactory
from tests.orders.test_flow import book, pay

# statements per mutation; before the redesign (5bb0b64): bookDeal 11, payBooking 18.
# Issue 9 made mutations return the rows they hold (no re-reads): 10 and 11. Issue 11 adds
# what a payment must now write in its transactions: the attempt's claim on the provider call
# and the ledger journal with its entries (accounts looked up or created), 19 in all.
BOOK_DEAL_STATEMENTS = 10
PAY_BOOKING_STATEMENTS = 19

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
    # the exact KNN page plans generically on a driver connection (geo.nearby)
    assert server.statements.driver_count() == 1


async def test_pages_that_plan_per_point_stay_on_the_engine(
    gql: GraphQL, server: RunningServer
) -> None:
    query = """query($near: GeoPointInput!, $radius: Float, $sort: DealSort) {
      nearbyDeals(near: $near, radiusMeters: $radius, sort: $sort, first: 5) {
        edges { node { id } } } }"""
    for variables in ({"radius": 30_000}, {"sort": "PRICE_ASC"}):
        server.statements.clear()
        await gql.data(query, {"near": HELSINKI, **variables})
        assert (server.statements.count(), server.statements.driver_count()) == (1, 0)


async def test_book_and_pay_statement_counts(
    shops: ShopFactory, customer: Callable[[], Caller], server: RunningServer
) -> None:
    """Measured figures (issue 9: mutations return what they hold, no re-reads)."""
    shop = shops(stock=10, price="9.90")
    alice = customer()
    await book(alice, shop, "warm")  # warm pools and caches
    server.statements.clear()
    booked = await book(alice, shop, "b-count")
    booking_statements = server.statements.count()
    assert booked["__typename"] == "BookDealSuccess"
    server.statements.clear()
    paid = await pay(alice, booked["booking"]["id"], key="p-count")
    pay_statements = server.statements.count()
    assert paid["__typename"] == "PaymentSucceeded"
    print(f"\nSTATEMENTS bookDeal={booking_statements} payBooking={pay_statements}")
    assert booking_statements <= BOOK_DEAL_STATEMENTS
    assert pay_statements <= PAY_BOOKING_STATEMENTS
