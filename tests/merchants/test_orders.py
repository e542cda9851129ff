"""Merchant.orders over HTTP: the bookings of a merchant's deals for its staff, with the
customer as a pseudonym, filters, keyset pages, a cashier held to its store and today, and
a booking that keeps the price it was made at."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.helpers import decode_id
from tests.merchants.conftest import As, Merchants, token
from tests.merchants.deal_helpers import UPDATE_DEAL, DealShop, book, run

ORDERS = """query($id: ID!, $filter: MerchantOrderFilter, $first: Int, $after: String) {
  merchant(id: $id) { orders(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id customerRef status quantity unitPrice { amount currency }
      totalPrice { amount } slotStart createdAt paymentStatus deal { id } store { id }
      vouchers { status validUntil redeemedAt } } } } } }"""
PAY = """mutation($input: PayBookingInput!) { payBooking(input: $input) {
  __typename ... on PaymentSucceeded { booking { id unitPrice { amount } totalPrice { amount } }
  vouchers { id validUntil } } } }"""
MY_BOOKINGS = """{ me { bookings(first: 5) { edges { node { id unitPrice { amount } } } } } }"""


async def orders(who: As, shop: DealShop, **variables: Any) -> dict[str, Any]:
    data = await who.data(ORDERS, {"id": shop.merchant.gid, **variables})
    found: dict[str, Any] = data["merchant"]["orders"]
    return found


async def test_staff_see_orders_with_a_stable_pseudonym_never_the_subject(
    deal_shop: DealShop, merchants: Merchants, gql: Any, sql: psycopg.Connection[Any]
) -> None:
    deal = await deal_shop.published(storeIds=[deal_shop.store_id, deal_shop.other_store_id])
    other = await deal_shop.published(title="Second deal")
    alice, bob = deal_shop.customer(), deal_shop.customer()
    first = await book(alice, deal["id"], "a1", 1, storeId=deal_shop.store_id)
    second = await book(alice, other["id"], "a2", 2)
    third = await book(bob, deal["id"], "b1", 1, storeId=deal_shop.other_store_id)
    assert {r["__typename"] for r in (first, second, third)} == {"BookDealSuccess"}
    paid = (await alice.data(PAY, {"input": _pay(second["booking"]["id"])}))["payBooking"]
    assert paid["__typename"] == "PaymentSucceeded", paid

    listed = await orders(deal_shop.manager, deal_shop)
    assert listed["totalCount"] == 3
    nodes = [edge["node"] for edge in listed["edges"]]
    ids = [node["id"] for node in nodes]
    assert ids == [third["booking"]["id"], second["booking"]["id"], first["booking"]["id"]]
    refs = [node["customerRef"] for node in nodes]
    assert refs[1] == refs[2] != refs[0]  # alice twice, bob once
    subjects = sql.execute(
        "SELECT DISTINCT user_id FROM bookings WHERE id = ANY(%s)", [[decode_id(i) for i in ids]]
    ).fetchall()
    assert all(subject not in ref for (subject,), ref in zip(subjects, refs, strict=False))
    assert all(ref.startswith("cus_") and len(ref) == 20 for ref in refs)
    paid_order = nodes[1]
    assert (paid_order["status"], paid_order["paymentStatus"]) == ("CONFIRMED", "SUCCEEDED")
    assert [v["status"] for v in paid_order["vouchers"]] == ["ISSUED", "ISSUED"]
    assert (nodes[0]["status"], nodes[0]["paymentStatus"], nodes[0]["vouchers"]) == (
        "HELD",
        None,
        [],
    )

    by_status = await orders(deal_shop.owner, deal_shop, filter={"status": "CONFIRMED"})
    assert [e["node"]["id"] for e in by_status["edges"]] == [second["booking"]["id"]]
    by_deal = await orders(deal_shop.owner, deal_shop, filter={"dealId": deal["id"]})
    assert by_deal["totalCount"] == 2
    at_store = await orders(
        deal_shop.owner, deal_shop, filter={"storeId": deal_shop.other_store_id}
    )
    # bob's booking there, and alice's second deal, which is valid at the first store only: no
    assert [e["node"]["id"] for e in at_store["edges"]] == [third["booking"]["id"]]
    later = await orders(deal_shop.owner, deal_shop, filter={"from": "2999-01-01T00:00:00Z"})
    assert later["totalCount"] == 0

    walked: list[str] = []
    after = None
    while True:
        page = await orders(deal_shop.owner, deal_shop, first=1, after=after)
        walked += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == ids

    for who in (alice, (await merchants()).staff("owner"), As(gql)):
        body = await who(ORDERS, {"id": deal_shop.merchant.gid})
        assert body["data"]["merchant"]["orders"] is None
        assert body["errors"][0]["extensions"]["code"] in {"FORBIDDEN", "UNAUTHENTICATED"}


async def test_a_cashier_sees_todays_orders_of_its_own_store(
    deal_shop: DealShop, sql: psycopg.Connection[Any]
) -> None:
    deal = await deal_shop.published(storeIds=[deal_shop.store_id, deal_shop.other_store_id])
    here = await book(deal_shop.customer(), deal["id"], "here", 1, storeId=deal_shop.store_id)
    there = await book(
        deal_shop.customer(), deal["id"], "there", 1, storeId=deal_shop.other_store_id
    )
    anywhere = await book(deal_shop.customer(), deal["id"], "any", 1)  # no store chosen
    old = await book(deal_shop.customer(), deal["id"], "old", 1, storeId=deal_shop.store_id)
    sql.execute(
        "UPDATE bookings SET created_at = now() - interval '3 days' WHERE id = %s",
        [decode_id(old["booking"]["id"])],
    )
    store = decode_id(deal_shop.store_id)
    cashier = As(
        deal_shop.gql,
        token(
            "cashier-here",
            ["merchant"],
            deal_shop.merchant.id,
            staff_role="cashier",
            store_id=store,
        ),
    )
    seen = await orders(cashier, deal_shop)
    assert [e["node"]["id"] for e in seen["edges"]] == [
        anywhere["booking"]["id"],  # valid at its store, none chosen
        here["booking"]["id"],
    ]
    elsewhere = await cashier(
        ORDERS, {"id": deal_shop.merchant.gid, "filter": {"storeId": deal_shop.other_store_id}}
    )
    assert elsewhere["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    manager_view = await orders(deal_shop.manager, deal_shop)
    assert manager_view["totalCount"] == 4
    assert there["booking"]["id"] in [e["node"]["id"] for e in manager_view["edges"]]


async def test_a_booking_keeps_the_price_it_was_made_at(deal_shop: DealShop) -> None:
    deal = await deal_shop.published(voucherValidDays=7)
    alice = deal_shop.customer()
    booked = await book(alice, deal["id"], "price", 2)
    assert booked["booking"]["unitPrice"] == {"amount": "25.00"}
    raised = await run(
        deal_shop.owner,
        UPDATE_DEAL,
        {
            "dealId": deal["id"],
            "expectedVersion": 2,
            "price": {"amount": "30.00", "currency": "EUR"},
        },
    )
    assert raised["deal"]["price"]["amount"] == "30.00"
    mine = (await alice.data(MY_BOOKINGS))["me"]["bookings"]["edges"]
    assert [e["node"]["unitPrice"]["amount"] for e in mine] == ["25.00"]
    paid = (await alice.data(PAY, {"input": _pay(booked["booking"]["id"])}))["payBooking"]
    assert paid["booking"]["totalPrice"] == {"amount": "50.00"}
    order = (await orders(deal_shop.owner, deal_shop))["edges"][0]["node"]
    assert (order["unitPrice"]["amount"], order["totalPrice"]["amount"]) == ("25.00", "50.00")
    later = await book(deal_shop.customer(), deal["id"], "later", 1)
    assert later["booking"]["unitPrice"] == {"amount": "30.00"}
    # vouchers last voucherValidDays after payment, not until the end of the sale window
    for voucher in paid["vouchers"]:
        assert voucher["validUntil"] < deal["validUntil"]


def _pay(booking_id: str) -> dict[str, str]:
    return {"bookingId": booking_id, "paymentMethod": "pm_card_visa", "idempotencyKey": "pay"}
