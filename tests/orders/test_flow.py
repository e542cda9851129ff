"""The whole O2O loop over HTTP: book, pay, voucher + QR, redeem in store, verified review."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import psycopg

from tests.orders.fixtures import Caller, Shop, ShopFactory

BOOK = """mutation($input: BookDealInput!) { bookDeal(input: $input) {
  __typename
  ... on BookDealSuccess { booking { id status quantity totalPrice { amount currency }
                           holdExpiresAt store { id } deal { id remainingQuantity } } }
  ... on DealUnavailable { message } ... on SoldOut { message }
  ... on InvalidInput { message field } ... on PerUserLimitReached { message limit } } }"""
PAY = """mutation($input: PayBookingInput!) { payBooking(input: $input) {
  __typename
  ... on PaymentSucceeded { booking { id status holdExpiresAt }
      payment { id status amount { amount } amountCaptured { amount } provider }
      vouchers { id code status validUntil qrSvg } }
  ... on PaymentDeclined { message booking { status } payment { status } }
  ... on PaymentRequiresAction { message nextActionUrl booking { status } payment { id status } }
  ... on BookingNotPayable { message } } }"""
REDEEM = """mutation($input: RedeemVoucherInput!) { redeemVoucher(input: $input) {
  __typename
  ... on VoucherRedeemed { voucher { id status redeemedAt redeemedAtStore { id } } }
  ... on VoucherAlreadyRedeemed { message redeemedAt } ... on VoucherExpired { message }
  ... on VoucherNotValidHere { message } ... on VoucherNotFound { message }
  ... on VoucherRefunded { message } } }"""
REVIEW = """mutation($input: PostReviewInput!) { postReview(input: $input) {
  __typename ... on ReviewPosted { review { id rating text verified visitedAt authorName } }
  ... on NotEligible { message } } }"""
REPLY = """mutation($input: ReplyToReviewInput!) { replyToReview(input: $input) {
  __typename ... on ReplyPosted { review { merchantReply } }
  ... on AlreadyReplied { message } } }"""
ME = """{ me { subject roles
  bookings(first: 10) {
    totalCount edges { node { id status payment { status } vouchers { code } } } }
  vouchers(first: 10) { totalCount edges { node { id code status } } }
  reviews { totalCount edges { node { rating verified } } } } }"""


async def book(who: Caller, shop: Shop, key: str, quantity: int = 1, **extra: Any) -> Any:
    payload = {"dealId": shop.deal, "quantity": quantity, "idempotencyKey": key, **extra}
    return (await who.data(BOOK, {"input": payload}))["bookDeal"]


async def pay(who: Caller, booking_id: str, method: str = "pm_card_visa", key: str = "p1") -> Any:
    payload = {"bookingId": booking_id, "paymentMethod": method, "idempotencyKey": key}
    return (await who.data(PAY, {"input": payload}))["payBooking"]


async def redeem(who: Caller, code: str, store: str, key: str = "r1") -> Any:
    payload = {"code": code, "storeId": store, "idempotencyKey": key}
    return (await who.data(REDEEM, {"input": payload}))["redeemVoucher"]


def remaining(sql: psycopg.Connection[Any], shop: Shop) -> int | None:
    row = sql.execute("SELECT remaining_quantity FROM deals WHERE id = %s", [shop.deal_id])
    found = row.fetchone()
    assert found is not None
    value: int | None = found[0]
    return value


async def test_the_whole_loop(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
    sql: psycopg.Connection[Any],
) -> None:
    shop = shops(stock=10, price="19.90")
    alice, clerk = customer(), staff(shop)

    booked = await book(alice, shop, "b1", quantity=2)
    assert booked["__typename"] == "BookDealSuccess"
    booking = booked["booking"]
    assert booking["status"] == "HELD" and booking["holdExpiresAt"]
    assert booking["totalPrice"] == {"amount": "39.80", "currency": "EUR"}
    assert booking["store"] == {"id": shop.store}
    assert remaining(sql, shop) == 8

    paid = await pay(alice, booking["id"])
    assert paid["__typename"] == "PaymentSucceeded"
    assert paid["booking"] == {"id": booking["id"], "status": "CONFIRMED", "holdExpiresAt": None}
    assert paid["payment"]["status"] == "SUCCEEDED"
    assert paid["payment"]["amountCaptured"] == {"amount": "39.80"}
    vouchers = paid["vouchers"]
    assert len(vouchers) == 2 and len({v["code"] for v in vouchers}) == 2
    for voucher in vouchers:
        assert re.fullmatch(
            r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}",
            voucher["code"],
        )
        assert voucher["status"] == "ISSUED"
        assert voucher["qrSvg"].startswith("<svg") and "</svg>" in voucher["qrSvg"]
    stored = sql.execute(
        "SELECT count(*) FROM vouchers WHERE booking_id = (SELECT booking_id FROM payments"
        " WHERE user_id = %s) AND position(%s in encode(code_hash, 'escape')) = 0",
        [alice.subject, vouchers[0]["code"].replace("-", "")],
    ).fetchone()
    assert stored == (2,)  # codes are not stored in clear

    review = {"merchantId": shop.merchant, "rating": 4, "text": "Great"}
    early = (await alice.data(REVIEW, {"input": review}))["postReview"]
    assert early["__typename"] == "NotEligible"

    typed = vouchers[0]["code"].lower().replace("-", " ")
    redeemed = await redeem(clerk, typed, shop.store)
    assert redeemed["__typename"] == "VoucherRedeemed"
    assert redeemed["voucher"]["status"] == "REDEEMED"
    assert redeemed["voucher"]["redeemedAtStore"] == {"id": shop.store}
    second = await redeem(clerk, vouchers[1]["code"], shop.store, key="r2")
    assert second["__typename"] == "VoucherRedeemed"

    before = sql.execute(
        "SELECT review_count, rating_total FROM merchants WHERE id = %s", [shop.merchant_id]
    ).fetchone()
    posted = (await alice.data(REVIEW, {"input": review}))["postReview"]
    assert posted["__typename"] == "ReviewPosted"
    assert posted["review"]["verified"] is True and posted["review"]["visitedAt"]
    after = sql.execute(
        "SELECT review_count, rating_total FROM merchants WHERE id = %s", [shop.merchant_id]
    ).fetchone()
    assert before is not None and after == (before[0] + 1, before[1] + 4)
    again = (await alice.data(REVIEW, {"input": review}))["postReview"]
    assert again["__typename"] == "NotEligible"

    reply = {"reviewId": posted["review"]["id"], "text": "Thank you!"}
    replied = (await clerk.data(REPLY, {"input": reply}))["replyToReview"]
    assert replied == {"__typename": "ReplyPosted", "review": {"merchantReply": "Thank you!"}}
    twice = (await clerk.data(REPLY, {"input": reply}))["replyToReview"]
    assert twice["__typename"] == "AlreadyReplied"

    me = (await alice.data(ME))["me"]
    assert me["subject"] == alice.subject and me["roles"] == ["customer"]
    assert me["bookings"]["totalCount"] == 1
    node = me["bookings"]["edges"][0]["node"]
    assert node["status"] == "COMPLETED" and node["payment"]["status"] == "SUCCEEDED"
    assert sorted(v["code"] for v in node["vouchers"]) == sorted(v["code"] for v in vouchers)
    assert {e["node"]["status"] for e in me["vouchers"]["edges"]} == {"REDEEMED"}
    assert me["reviews"]["edges"] == [{"node": {"rating": 4, "verified": True}}]


NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on Booking { status } ... on Voucher { code } ... on Payment { amount { amount } } } }"""
PAGE = """query($first: Int, $after: String) { me { bookings(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } } } }"""


async def test_private_nodes_are_their_owners(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
    gql: Any,
) -> None:
    shop, rival = shops(stock=5), shops(stock=5)
    alice, mallory = customer(), customer()
    booking = (await book(alice, shop, "b"))["booking"]
    paid = await pay(alice, booking["id"])
    voucher, payment = paid["vouchers"][0], paid["payment"]
    for global_id, type_name in [
        (booking["id"], "Booking"),
        (voucher["id"], "Voucher"),
        (payment["id"], "Payment"),
    ]:
        mine = (await alice.data(NODE, {"id": global_id}))["node"]
        assert mine["__typename"] == type_name and mine["id"] == global_id
        assert await mallory.error_code(NODE, {"id": global_id}) == "FORBIDDEN"
        anonymous = await gql(NODE, {"id": global_id})
        assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    seen_by_staff = (await staff(shop).data(NODE, {"id": voucher["id"]}))["node"]
    assert seen_by_staff["code"] == voucher["code"]
    assert await staff(rival).error_code(NODE, {"id": voucher["id"]}) == "FORBIDDEN"


async def test_my_bookings_are_paged(shops: ShopFactory, customer: Callable[[], Caller]) -> None:
    shop = shops(stock=10, per_user_limit=10)
    alice = customer()
    made = [(await book(alice, shop, f"k{i}"))["booking"]["id"] for i in range(3)]
    first = (await alice.data(PAGE, {"first": 2}))["me"]["bookings"]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"]
    after = first["pageInfo"]["endCursor"]
    rest = (await alice.data(PAGE, {"first": 2, "after": after}))["me"]["bookings"]
    assert not rest["pageInfo"]["hasNextPage"]
    seen = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
    assert seen == list(reversed(made))
    assert await alice.error_code(PAGE, {"first": 1000}) == "BAD_USER_INPUT"
    assert await alice.error_code(PAGE, {"after": "nonsense"}) == "BAD_USER_INPUT"


async def test_review_rules(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
) -> None:
    shop, rival = shops(stock=5), shops(stock=5)
    alice = customer()
    paid = await pay(alice, (await book(alice, shop, "b"))["booking"]["id"])
    await redeem(staff(shop), paid["vouchers"][0]["code"], shop.store)
    for rating in (0, 6):
        review = {"merchantId": shop.merchant, "rating": rating}
        assert await alice.error_code(REVIEW, {"input": review}) == "BAD_USER_INPUT"
    elsewhere = {"merchantId": rival.merchant, "rating": 5}
    assert (await alice.data(REVIEW, {"input": elsewhere}))["postReview"]["__typename"] == (
        "NotEligible"
    )
    posted = await alice.data(REVIEW, {"input": {"merchantId": shop.merchant, "rating": 5}})
    review_id = posted["postReview"]["review"]["id"]
    reply = {"input": {"reviewId": review_id, "text": "Thanks"}}
    assert await staff(rival).error_code(REPLY, reply) == "FORBIDDEN"
    assert await alice.error_code(REPLY, reply) == "FORBIDDEN"
    blank = {"input": {"reviewId": review_id, "text": "   "}}
    assert await staff(shop).error_code(REPLY, blank) == "BAD_USER_INPUT"
