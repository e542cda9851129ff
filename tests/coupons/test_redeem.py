"""``redeemCoupon`` and ``reverseCouponRedemption`` on the real stack: exactly once (16
concurrent uses give 1), the minimum bill, exact discounts of every kind with the currency's
rounding, where a coupon is valid, expiry, codes that find nothing, and the undo."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg

from tests.conftest import GraphQL
from tests.coupons.campaign_helpers import (
    REDEEM,
    REVERSE,
    campaign_shops,
    claimed_code,
    customer_of,
    published,
    redeem,
    staff_of,
)
from tests.helpers import decode_id
from tests.orders.fixtures import Shop, ShopFactory

__all__ = ["campaign_shops"]


async def claimed_of(gql: GraphQL, shop: Shop, **fields: Any) -> dict[str, Any]:
    coupon = await published(staff_of(gql, shop, "manager"), shop, **fields)
    return await claimed_code(customer_of(gql), coupon["id"])


async def test_16_concurrent_uses_of_one_coupon_give_1(
    gql: GraphQL, campaign_shops: ShopFactory, sql: psycopg.Connection[Any]
) -> None:
    shop = campaign_shops()
    claimed = await claimed_of(gql, shop)
    cashiers = [staff_of(gql, shop, "cashier") for _ in range(16)]
    results = await asyncio.gather(
        *(redeem(c, claimed["code"], shop.store, "40.00") for c in cashiers)
    )
    kinds = [r["__typename"] for r in results]
    assert kinds.count("CouponRedeemed") == 1
    assert kinds.count("CouponAlreadyRedeemed") == 15
    done = next(r for r in results if r["__typename"] == "CouponRedeemed")
    assert done["discount"] == {"amount": "4.00", "currency": "EUR"}
    assert done["payable"] == {"amount": "36.00", "currency": "EUR"}
    assert done["claimed"]["status"] == "REDEEMED"
    record = done["redemption"]
    assert record["billAmount"] == {"amount": "40.00", "currency": "EUR"}
    assert record["store"]["id"] == shop.store and record["reversedAt"] is None
    rows = sql.execute(
        "SELECT bill_amount::text, discount::text, payable::text, currency"
        " FROM coupon_redemptions WHERE claimed_coupon_id = %s",
        [decode_id(claimed["id"])],
    ).fetchall()
    assert rows == [("40.00", "4.00", "36.00", "EUR")]


async def test_a_bill_under_the_minimum_is_refused(
    gql: GraphQL, campaign_shops: ShopFactory
) -> None:
    shop = campaign_shops()
    claimed = await claimed_of(gql, shop, minBill={"amount": "20.00", "currency": "EUR"})
    cashier = staff_of(gql, shop, "cashier")
    below = await redeem(cashier, claimed["code"], shop.store, "19.99")
    assert below["__typename"] == "BillBelowMinimum" and below["code"] == "BILL_BELOW_MINIMUM"
    assert below["minBill"] == {"amount": "20.00", "currency": "EUR"}
    body = await cashier(
        REDEEM,
        {
            "input": {
                "code": claimed["code"],
                "storeId": shop.store,
                "billAmount": {"amount": "20.00", "currency": "USD"},
                "idempotencyKey": uuid.uuid4().hex,
            }
        },
    )
    assert body["errors"][0]["extensions"]["argument"] == "input.billAmount.currency"
    exact = await redeem(cashier, claimed["code"], shop.store, "20.00")
    assert exact["__typename"] == "CouponRedeemed"
    assert (exact["discount"]["amount"], exact["payable"]["amount"]) == ("2.00", "18.00")


async def test_discounts_are_exact_for_each_kind(gql: GraphQL, campaign_shops: ShopFactory) -> None:
    shop = campaign_shops()
    cashier = staff_of(gql, shop, "cashier")
    cases = [
        ({"value": "15"}, "9.99", "EUR", "1.50", "8.49", None),  # 1.4985 -> 1.50
        ({"value": "33"}, "0.10", "EUR", "0.03", "0.07", None),  # 0.033 -> 0.03
        ({"value": "12.5"}, "0.04", "EUR", "0.01", "0.03", None),  # 0.005 -> 0.01 (half up)
        ({"value": "15"}, "999", "JPY", "150.00", "849.00", None),  # 149.85 -> 150 yen
        ({"value": "100"}, "12.34", "EUR", "12.34", "0.00", None),
        (
            {"kind": "AMOUNT_OFF", "value": "5", "currency": "EUR"},
            "3.00",
            "EUR",
            "3.00",
            "0.00",
            None,
        ),  # capped at the bill
        (
            {"kind": "AMOUNT_OFF", "value": "5", "currency": "EUR"},
            "12.30",
            "EUR",
            "5.00",
            "7.30",
            None,
        ),
        (
            {"kind": "AMOUNT_OFF", "value": "500", "currency": "JPY"},
            "1200",
            "JPY",
            "500.00",
            "700.00",
            None,
        ),
        ({"kind": "FREE_ITEM", "value": "A coffee"}, "7.20", "EUR", "0.00", "7.20", "A coffee"),
    ]
    for fields, bill, currency, discount, payable, item in cases:
        claimed = await claimed_of(gql, shop, **fields)
        result = await redeem(cashier, claimed["code"], shop.store, bill, currency)
        assert result["__typename"] == "CouponRedeemed", (fields, result)
        assert result["discount"] == {"amount": discount, "currency": currency}, fields
        assert result["payable"] == {"amount": payable, "currency": currency}, fields
        assert result["freeItem"] == item
    claimed = await claimed_of(gql, shop, value="10")
    body = await cashier(
        REDEEM,
        {
            "input": {
                "code": claimed["code"],
                "storeId": shop.store,
                "billAmount": {"amount": "10.50", "currency": "JPY"},
                "idempotencyKey": uuid.uuid4().hex,
            }
        },
    )
    assert body["errors"][0]["extensions"]["argument"] == "input.billAmount.amount"


async def test_where_and_when_a_coupon_is_valid(
    gql: GraphQL, campaign_shops: ShopFactory, sql: psycopg.Connection[Any]
) -> None:
    shop, other = campaign_shops(stores=2), campaign_shops()
    claimed = await claimed_of(gql, shop)  # valid at the first store only
    cashier = staff_of(gql, shop, "cashier")
    elsewhere = await redeem(cashier, claimed["code"], shop.store_gid(1), "10.00")
    assert elsewhere["__typename"] == "CouponNotValidHere"
    foreign = await redeem(staff_of(gql, other, "cashier"), claimed["code"], other.store, "10.00")
    assert foreign["__typename"] == "CouponNotValidHere"
    pinned = staff_of(gql, shop, "cashier", store=shop.store_ids[1])
    body = await pinned(
        REDEEM,
        {
            "input": {
                "code": claimed["code"],
                "storeId": shop.store,
                "billAmount": {"amount": "10.00", "currency": "EUR"},
                "idempotencyKey": "x",
            }
        },
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    typo = claimed["code"][:-1] + ("2" if claimed["code"][-1] != "2" else "3")
    assert (await redeem(cashier, typo, shop.store, "10.00"))["__typename"] == "CouponNotFound"
    sql.execute(
        "UPDATE claimed_coupons SET valid_until = now() - interval '1 minute' WHERE id = %s",
        [decode_id(claimed["id"])],
    )
    expired = await redeem(cashier, claimed["code"], shop.store, "10.00")
    assert expired["__typename"] == "CouponExpired" and expired["code"] == "COUPON_EXPIRED"


async def test_a_voucher_code_never_finds_a_coupon(
    gql: GraphQL, campaign_shops: ShopFactory, sql: psycopg.Connection[Any]
) -> None:
    from commerce.coupons.codes import code_of, hash_of
    from commerce.orders.vouchers import code_for, code_hash

    key = b"local-development-voucher-key"
    nonce = bytes(range(16))
    assert code_of(key, nonce) != code_for(key, nonce)
    assert hash_of(key, code_for(key, nonce)) != code_hash(key, code_for(key, nonce))


async def test_a_use_is_undone_within_the_window(
    gql: GraphQL, campaign_shops: ShopFactory, sql: psycopg.Connection[Any]
) -> None:
    shop = campaign_shops()
    claimed = await claimed_of(gql, shop)
    cashier = staff_of(gql, shop, "cashier")
    assert (await redeem(cashier, claimed["code"], shop.store, "10.00"))["__typename"] == (
        "CouponRedeemed"
    )
    undo = {"input": {"claimedCouponId": claimed["id"], "reason": "wrong customer"}}
    result = (await cashier.data(REVERSE, undo))["reverseCouponRedemption"]
    assert result["__typename"] == "CouponRedemptionReversed", result
    assert result["claimed"]["status"] == "ISSUED" and result["redemption"]["reversedAt"]
    again = (await cashier.data(REVERSE, undo))["reverseCouponRedemption"]
    assert again["__typename"] == "CouponNotRedeemed"
    used = await redeem(cashier, claimed["code"], shop.store, "10.00")
    assert used["__typename"] == "CouponRedeemed"
    sql.execute(
        "UPDATE coupon_redemptions SET redeemed_at = now() - interval '1 hour'"
        " WHERE claimed_coupon_id = %s AND reversed_at IS NULL",
        [decode_id(claimed["id"])],
    )
    late = (await cashier.data(REVERSE, undo))["reverseCouponRedemption"]
    assert late["__typename"] == "ReversalWindowClosed"
    customer = customer_of(gql)
    body = await customer(REVERSE, undo)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    audit = sql.execute(
        "SELECT action FROM staff_audit WHERE entity = 'claimed_coupon' AND entity_id = %s"
        " ORDER BY id",
        [str(decode_id(claimed["id"]))],
    ).fetchall()
    assert [row[0] for row in audit] == [
        "redeem_coupon",
        "reverse_coupon_redemption",
        "redeem_coupon",
    ]
