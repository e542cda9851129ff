"""``redeemVoucher`` and ``reverseRedemption``: exactly once, per merchant, with an audit."""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg

from tests.helpers import decode_id
from tests.orders.fixtures import Caller, Shop, ShopFactory
from tests.orders.test_flow import REDEEM, redeem
from tests.orders.test_payments import paid_booking

REVERSE = """mutation($input: ReverseRedemptionInput!) { reverseRedemption(input: $input) {
  __typename ... on RedemptionReversed { voucher { status redeemedAt } }
  ... on ReversalWindowClosed { message } ... on VoucherNotRedeemed { message } } }"""


async def test_sixteen_devices_scan_one_code(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
    sql: psycopg.Connection[Any],
) -> None:
    shop = shops(stock=5)
    paid = await paid_booking(customer(), shop, 1)
    code = paid["vouchers"][0]["code"]
    devices = [staff(shop) for _ in range(16)]
    results = await asyncio.gather(*(redeem(d, code, shop.store, key="scan") for d in devices))
    kinds = Counter(r["__typename"] for r in results)
    print(f"\n16 concurrent redeemVoucher of one code: {dict(kinds)}")
    assert kinds == {"VoucherRedeemed": 1, "VoucherAlreadyRedeemed": 15}
    redeemed_at = {r["redeemedAt"] for r in results if "redeemedAt" in r}
    assert len(redeemed_at) == 1
    count = sql.execute(
        "SELECT count(*) FROM redemptions WHERE voucher_id = %s",
        [decode_id(paid["vouchers"][0]["id"])],
    ).fetchone()
    assert count == (1,)
    booking = sql.execute(
        "SELECT status FROM bookings WHERE id = %s", [decode_id(paid["booking"]["id"])]
    ).fetchone()
    assert booking == ("COMPLETED",)


async def test_a_replayed_scan_returns_its_first_result(
    shops: ShopFactory, customer: Callable[[], Caller], staff: Callable[[Shop], Caller]
) -> None:
    shop = shops(stock=5)
    paid = await paid_booking(customer(), shop, 1)
    code, clerk = paid["vouchers"][0]["code"], staff(shop)
    first = await redeem(clerk, code, shop.store, key="k")
    replays = await asyncio.gather(*(redeem(clerk, code, shop.store, key="k") for _ in range(4)))
    assert all(r == first for r in replays)
    assert first["__typename"] == "VoucherRedeemed"
    other = await redeem(clerk, code, shop.store, key="k2")
    assert other["__typename"] == "VoucherAlreadyRedeemed"
    variables = {"input": {"code": code, "storeId": shop.store_gid(0), "idempotencyKey": "k"}}
    variables["input"]["code"] = "2222-2222-2222-22"
    assert await clerk.error_code(REDEEM, variables) == "BAD_USER_INPUT"


async def test_only_the_right_merchant_at_the_right_store(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
) -> None:
    shop = shops(stock=5, stores=2, deal_stores=1)
    rival = shops(stock=5)
    alice = customer()
    paid = await paid_booking(alice, shop, 1)
    code = paid["vouchers"][0]["code"]
    rival_clerk = staff(rival)
    elsewhere = await redeem(rival_clerk, code, rival.store)
    assert elsewhere["__typename"] == "VoucherNotValidHere"
    other_store = await redeem(staff(shop), code, shop.store_gid(1))
    assert other_store["__typename"] == "VoucherNotValidHere"
    variables = {"input": {"code": code, "storeId": shop.store, "idempotencyKey": "x"}}
    assert await rival_clerk.error_code(REDEEM, variables) == "FORBIDDEN"
    assert await alice.error_code(REDEEM, variables) == "FORBIDDEN"
    body = await rival_clerk.gql(REDEEM, variables)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def neighbours_swapped(code: str) -> str:
    """The code with two different neighbours swapped (not the one pair Luhn mod 32 misses)."""
    for i in range(len(code) - 2):
        a, b = code[i], code[i + 1]
        if a != b and {a, b} != {"2", "Z"}:
            return code[:i] + b + a + code[i + 2 :]
    raise AssertionError(code)


async def test_typos_expiry_and_unknown_codes(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
    sql: psycopg.Connection[Any],
) -> None:
    shop = shops(stock=5)
    paid = await paid_booking(customer(), shop, 2)
    clerk = staff(shop)
    code = paid["vouchers"][0]["code"]
    swapped = neighbours_swapped(code.replace("-", ""))
    wrong_check = code[:-1] + ("2" if code[-1] != "2" else "3")
    for index, typo in enumerate([wrong_check, swapped, "NOT-A-CODE", "0O1I" * 4]):
        result = await redeem(clerk, typo, shop.store, key=f"typo-{index}")
        assert result["__typename"] == "VoucherNotFound", typo
    sql.execute(
        "UPDATE vouchers SET valid_until = now() - interval '1 minute' WHERE id = %s",
        [decode_id(paid["vouchers"][1]["id"])],
    )
    expired = await redeem(clerk, paid["vouchers"][1]["code"], shop.store, key="late")
    assert expired["__typename"] == "VoucherExpired"


async def test_reversing_a_mistaken_scan(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
    sql: psycopg.Connection[Any],
) -> None:
    shop = shops(stock=5)
    rival = shops(stock=5)
    paid = await paid_booking(customer(), shop, 2)
    clerk = staff(shop)
    first, second = paid["vouchers"]
    await redeem(clerk, first["code"], shop.store, key="a")
    await redeem(clerk, second["code"], shop.store, key="b")
    variables = {"input": {"voucherId": first["id"], "reason": "scanned the wrong phone"}}
    assert await staff(rival).error_code(REVERSE, variables) == "FORBIDDEN"
    reversed_ = (await clerk.data(REVERSE, variables))["reverseRedemption"]
    assert reversed_ == {
        "__typename": "RedemptionReversed",
        "voucher": {"status": "ISSUED", "redeemedAt": None},
    }
    again = (await clerk.data(REVERSE, variables))["reverseRedemption"]
    assert again["__typename"] == "VoucherNotRedeemed"
    audit = sql.execute(
        "SELECT staff_id, reversed_by, reversal_reason FROM redemptions WHERE voucher_id = %s",
        [decode_id(first["id"])],
    ).fetchall()
    assert audit == [(clerk.subject, clerk.subject, "scanned the wrong phone")]
    booking = sql.execute(
        "SELECT status FROM bookings WHERE id = %s", [decode_id(paid["booking"]["id"])]
    ).fetchone()
    assert booking == ("CONFIRMED",)
    redone = await redeem(clerk, first["code"], shop.store, key="c")
    assert redone["__typename"] == "VoucherRedeemed"

    sql.execute(
        "UPDATE redemptions SET redeemed_at = now() - interval '11 minutes'"
        " WHERE voucher_id = %s AND reversed_at IS NULL",
        [decode_id(second["id"])],
    )
    late = {"input": {"voucherId": second["id"], "reason": "too late"}}
    closed = (await clerk.data(REVERSE, late))["reverseRedemption"]
    assert closed["__typename"] == "ReversalWindowClosed"


LEDGER = """{ me { redemptions(first: 10) { totalCount edges { node {
  id voucherId staffId reversedAt reversedBy reversalReason store { id } } } } } }"""
NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on Redemption { voucherId staffId reversedAt } } }"""
REFUSAL = """mutation($input: RedeemVoucherInput!) { redeemVoucher(input: $input) {
  __typename ... on Error { code message } } }"""


async def test_staff_see_their_merchants_redemptions_only(
    shops: ShopFactory, customer: Callable[[], Caller], staff: Callable[[Shop], Caller]
) -> None:
    shop, rival = shops(stock=5), shops(stock=5)
    paid = await paid_booking(customer(), shop, 1)
    clerk = staff(shop)
    voucher = paid["vouchers"][0]
    await redeem(clerk, voucher["code"], shop.store, key="a")
    variables = {"input": {"voucherId": voucher["id"], "reason": "wrong customer"}}
    await clerk.data(REVERSE, variables)
    await redeem(clerk, voucher["code"], shop.store, key="b")
    ledger = (await staff(shop).data(LEDGER))["me"]["redemptions"]
    assert ledger["totalCount"] == 2
    newest, oldest = (edge["node"] for edge in ledger["edges"])
    assert newest["reversedAt"] is None and newest["staffId"] == clerk.subject
    assert oldest["reversalReason"] == "wrong customer" and oldest["reversedBy"] == clerk.subject
    assert {newest["voucherId"], oldest["voucherId"]} == {voucher["id"]}
    assert newest["store"] == {"id": shop.store}
    assert (await staff(rival).data(LEDGER))["me"]["redemptions"]["totalCount"] == 0
    assert (await customer().data(LEDGER))["me"]["redemptions"]["totalCount"] == 0


async def test_a_redemption_is_a_node_for_its_merchants_staff_only(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
    gql: Any,
) -> None:
    shop, rival = shops(stock=5), shops(stock=5)
    buyer = customer()
    paid = await paid_booking(buyer, shop, 1)
    clerk = staff(shop)
    await redeem(clerk, paid["vouchers"][0]["code"], shop.store, key="n")
    (edge,) = (await clerk.data(LEDGER))["me"]["redemptions"]["edges"]
    global_id = edge["node"]["id"]
    raw = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    assert raw.startswith("Redemption:") and raw.split(":")[1].isdigit()
    found = (await staff(shop).data(NODE, {"id": global_id}))["node"]
    assert found == {
        "__typename": "Redemption",
        "id": global_id,
        "voucherId": paid["vouchers"][0]["id"],
        "staffId": clerk.subject,
        "reversedAt": None,
    }
    assert await staff(rival).error_code(NODE, {"id": global_id}) == "FORBIDDEN"
    assert await buyer.error_code(NODE, {"id": global_id}) == "FORBIDDEN"
    anonymous = await gql(NODE, {"id": global_id})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    missing = base64.urlsafe_b64encode(b"Redemption:999999999").decode().rstrip("=")
    assert await clerk.error_code(NODE, {"id": missing}) == "NOT_FOUND"


async def test_refusals_carry_their_stable_code(
    shops: ShopFactory, customer: Callable[[], Caller], staff: Callable[[Shop], Caller]
) -> None:
    shop = shops(stock=5)
    paid = await paid_booking(customer(), shop, 1)
    clerk = staff(shop)
    code = paid["vouchers"][0]["code"]
    await redeem(clerk, code, shop.store, key="c1")

    async def refusal(typed: str, key: str) -> Any:
        payload = {"code": typed, "storeId": shop.store, "idempotencyKey": key}
        return (await clerk.data(REFUSAL, {"input": payload}))["redeemVoucher"]

    again = await refusal(code, "c2")
    assert again["__typename"] == "VoucherAlreadyRedeemed"
    assert again["code"] == "VOUCHER_ALREADY_REDEEMED" and again["message"]
    unknown = await refusal("2222-2222-2222-22", "c3")
    assert unknown["__typename"] == "VoucherNotFound" and unknown["code"] == "VOUCHER_NOT_FOUND"
