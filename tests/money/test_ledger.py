"""The money ledger on the real stack: every scenario leaves each journal and the whole
ledger at zero per currency (checked by plain SQL, independently of db/ledger_sql.py); the
database refuses changed entries and unbalanced journals; commissions; the states a booking,
voucher and review end in after cancellations and reversals; races."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.helpers import decode_id
from tests.orders.fixtures import Caller, Shop, ShopFactory
from tests.orders.test_flow import REVIEW, redeem, remaining
from tests.orders.test_payments import REFUND, paid_booking
from tests.orders.test_redemption import REVERSE

BOOKINGS = """{ me { bookings(first: 20) { edges { node { id status cancelReason
  vouchers { id status } payment { status } } } } } }"""


def assert_ledger_balanced(sql: psycopg.Connection[Any]) -> None:
    """Independent of the code under test: plain sums of the entries table."""
    per_currency = sql.execute(
        "SELECT currency, sum(amount) FROM ledger_entries GROUP BY currency"
    ).fetchall()
    assert per_currency, "the ledger has entries"
    assert all(total == 0 for _currency, total in per_currency), per_currency
    unbalanced = sql.execute(
        "SELECT journal_id, currency, sum(amount) FROM ledger_entries"
        " GROUP BY journal_id, currency HAVING sum(amount) <> 0"
    ).fetchall()
    assert unbalanced == []


def booking_accounts(sql: psycopg.Connection[Any], booking_id: int) -> dict[str, Decimal]:
    """Sum per account kind of every entry of the booking's journals."""
    rows = sql.execute(
        "SELECT a.kind, sum(e.amount) FROM ledger_entries e"
        " JOIN ledger_journals j ON j.id = e.journal_id"
        " JOIN ledger_accounts a ON a.id = e.account_id"
        " WHERE j.booking_id = %s GROUP BY a.kind",
        [booking_id],
    ).fetchall()
    return {kind: Decimal(total) for kind, total in rows}


def journal_kinds(sql: psycopg.Connection[Any], booking_id: int) -> Counter[str]:
    rows = sql.execute(
        "SELECT kind FROM ledger_journals WHERE booking_id = %s", [booking_id]
    ).fetchall()
    return Counter(kind for (kind,) in rows)


def booking_state(sql: psycopg.Connection[Any], booking_id: int) -> tuple[Any, ...]:
    row = sql.execute(
        "SELECT status, cancel_reason FROM bookings WHERE id = %s", [booking_id]
    ).fetchone()
    assert row is not None
    return tuple(row)


async def test_pay_redeem_reverse_cancel_and_reverse_again(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
    sql: psycopg.Connection[Any],
) -> None:
    shop = shops(stock=10, price="10.00")
    alice, clerk = customer(), staff(shop)
    paid = await paid_booking(alice, shop, 3)
    booking_id = decode_id(paid["booking"]["id"])
    first, second, _third = paid["vouchers"]
    assert booking_accounts(sql, booking_id) == {
        "customer_funds": Decimal("-30.00"),
        "platform_escrow": Decimal("30.00"),
    }
    assert remaining(sql, shop) == 7

    await redeem(clerk, first["code"], shop.store, key="r1")
    assert booking_accounts(sql, booking_id) == {
        "customer_funds": Decimal("-30.00"),
        "platform_escrow": Decimal("20.00"),
        "merchant_payable": Decimal("9.00"),  # the default rate: 10 %
        "platform_commission": Decimal("1.00"),
    }
    undo = {"input": {"voucherId": first["id"], "reason": "wrong phone"}}
    assert (await clerk.data(REVERSE, undo))["reverseRedemption"]["__typename"] == (
        "RedemptionReversed"
    )
    after_reversal = booking_accounts(sql, booking_id)
    assert after_reversal["platform_escrow"] == Decimal("30.00")
    assert after_reversal["merchant_payable"] == after_reversal["platform_commission"] == 0

    await redeem(clerk, first["code"], shop.store, key="r2")
    cancel = {"input": {"bookingId": paid["booking"]["id"], "reason": "plans changed"}}
    cancelled = (await alice.data(REFUND, cancel))["cancelBooking"]
    assert cancelled["refund"]["amount"]["amount"] == "20.00"
    # partly redeemed and cancelled: CANCELLED (COMPLETED means every voucher was used)
    assert cancelled["booking"]["status"] == "CANCELLED"
    assert cancelled["booking"]["payment"]["status"] == "PARTIALLY_REFUNDED"
    assert booking_state(sql, booking_id) == ("CANCELLED", "plans changed")
    assert remaining(sql, shop) == 9  # the two refunded units are on sale again
    assert booking_accounts(sql, booking_id) == {
        "customer_funds": Decimal("-10.00"),
        "platform_escrow": Decimal("0.00"),
        "merchant_payable": Decimal("9.00"),
        "platform_commission": Decimal("1.00"),
    }
    assert journal_kinds(sql, booking_id) == {
        "PAYMENT": 1,
        "REDEMPTION": 2,
        "REVERSAL": 1,
        "REFUND": 1,
    }

    # the used voucher was a mistake after all: the booking is live again, no stale reason
    assert (await clerk.data(REVERSE, undo))["reverseRedemption"]["__typename"] == (
        "RedemptionReversed"
    )
    assert booking_state(sql, booking_id) == ("CONFIRMED", None)
    seen = (await alice.data(BOOKINGS))["me"]["bookings"]["edges"]
    mine = next(e["node"] for e in seen if e["node"]["id"] == paid["booking"]["id"])
    assert mine["status"] == "CONFIRMED" and mine["cancelReason"] is None
    assert Counter(v["status"] for v in mine["vouchers"]) == {"ISSUED": 1, "REFUNDED": 2}
    assert booking_accounts(sql, booking_id)["platform_escrow"] == Decimal("10.00")
    assert second["id"] != first["id"]
    assert_ledger_balanced(sql)


async def test_every_voucher_redeemed_is_completed_and_a_merchant_rate_applies(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
    sql: psycopg.Connection[Any],
) -> None:
    shop = shops(stock=10, price="9.99")
    sql.execute("UPDATE merchants SET commission_rate = 0.125 WHERE id = %s", [shop.merchant_id])
    clerk = staff(shop)
    paid = await paid_booking(customer(), shop, 2)
    booking_id = decode_id(paid["booking"]["id"])
    for index, voucher in enumerate(paid["vouchers"]):
        await redeem(clerk, voucher["code"], shop.store, key=f"r{index}")
    assert booking_state(sql, booking_id) == ("COMPLETED", None)
    # 9.99 x 12.5 % = 1.24875 -> 1.25 per voucher (half-up to the cent)
    assert booking_accounts(sql, booking_id) == {
        "customer_funds": Decimal("-19.98"),
        "platform_escrow": Decimal("0.00"),
        "merchant_payable": Decimal("17.48"),
        "platform_commission": Decimal("2.50"),
    }
    assert_ledger_balanced(sql)


async def test_a_review_is_verified_while_a_redemption_stands(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
    sql: psycopg.Connection[Any],
) -> None:
    shop = shops(stock=5)
    alice, clerk = customer(), staff(shop)
    paid = await paid_booking(alice, shop, 1)
    voucher = paid["vouchers"][0]
    await redeem(clerk, voucher["code"], shop.store, key="r1")
    review = {"input": {"merchantId": shop.merchant, "rating": 5, "text": "lovely"}}
    posted = (await alice.data(REVIEW, review))["postReview"]
    assert posted["review"]["verified"] is True

    def verified() -> tuple[Any, ...]:
        row = sql.execute(
            "SELECT verified, visited_at IS NOT NULL FROM reviews"
            " WHERE merchant_id = %s AND author_id = %s",
            [shop.merchant_id, alice.subject],
        ).fetchone()
        assert row is not None
        return tuple(row)

    undo = {"input": {"voucherId": voucher["id"], "reason": "not this customer"}}
    await clerk.data(REVERSE, undo)
    assert verified() == (False, False)  # the only redemption that verified it is gone
    await redeem(clerk, voucher["code"], shop.store, key="r2")
    assert verified() == (True, True)
    assert_ledger_balanced(sql)


JOURNAL_WITH_ENTRIES = """WITH j AS (INSERT INTO ledger_journals (kind, event_key, merchant_id)
  VALUES ('PAYOUT', gen_random_uuid()::text, 0) RETURNING id)
INSERT INTO ledger_entries (journal_id, account_id, currency, amount)
SELECT j.id, %s, 'XTS', amount FROM j, unnest(%s::numeric[]) AS amount RETURNING journal_id"""


def write(conn: psycopg.Connection[Any], statement: str, params: list[Any]) -> int:
    """One statement in its own transaction (so deferred checks run at its commit)."""
    with conn.transaction():
        row = conn.execute(statement, params).fetchone()
    return 0 if row is None else int(row[0])


def test_entries_are_append_only_and_journals_balance_at_commit(
    database_url: str, sql: psycopg.Connection[Any]
) -> None:
    with psycopg.connect(database_url) as conn:
        account = write(
            conn,
            "INSERT INTO ledger_accounts (owner, kind, currency)"
            " VALUES ('platform', 'platform_escrow', 'XTS')"
            " ON CONFLICT (owner, kind, currency) DO UPDATE SET owner = EXCLUDED.owner"
            " RETURNING id",
            [],
        )
        unbalanced = [account, [Decimal("5.00"), Decimal("-4.99")]]
        with pytest.raises(psycopg.errors.CheckViolation, match="does not balance"):
            write(conn, JOURNAL_WITH_ENTRIES, unbalanced)  # accepted, refused at commit
        zero = [account, [Decimal("0"), Decimal("0")]]
        with pytest.raises(psycopg.errors.CheckViolation, match="amount_nonzero"):
            write(conn, JOURNAL_WITH_ENTRIES, zero)
        # balanced: accepted (one account on both sides keeps the test self-contained)
        journal = write(conn, JOURNAL_WITH_ENTRIES, [account, [Decimal("5"), Decimal("-5")]])
        for statement in (
            "UPDATE ledger_entries SET amount = amount * 2 WHERE journal_id = %s",
            "DELETE FROM ledger_entries WHERE journal_id = %s",
            "UPDATE ledger_journals SET merchant_id = 1 WHERE id = %s",
            "DELETE FROM ledger_journals WHERE id = %s",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                write(conn, statement, [journal])
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            write(conn, "TRUNCATE ledger_entries CASCADE", [])
    assert_ledger_balanced(sql)


async def test_sixteen_concurrent_scans_post_one_redemption(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
    sql: psycopg.Connection[Any],
) -> None:
    shop = shops(stock=5, price="12.00")
    paid = await paid_booking(customer(), shop, 1)
    booking_id = decode_id(paid["booking"]["id"])
    code = paid["vouchers"][0]["code"]
    devices = [staff(shop) for _ in range(16)]
    results = await asyncio.gather(*(redeem(d, code, shop.store, key="scan") for d in devices))
    kinds = Counter(r["__typename"] for r in results)
    assert kinds == {"VoucherRedeemed": 1, "VoucherAlreadyRedeemed": 15}
    assert journal_kinds(sql, booking_id) == {"PAYMENT": 1, "REDEMPTION": 1}
    assert booking_accounts(sql, booking_id)["merchant_payable"] == Decimal("10.80")
    assert_ledger_balanced(sql)


@pytest.mark.parametrize("round_", range(3))
async def test_cancel_racing_a_scan_moves_each_unit_once(
    round_: int,
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
    sql: psycopg.Connection[Any],
) -> None:
    shop = shops(stock=5, price="10.00")
    alice, clerk = customer(), staff(shop)
    paid = await paid_booking(alice, shop, 2)
    booking_id = decode_id(paid["booking"]["id"])
    cancel = {"input": {"bookingId": paid["booking"]["id"]}}
    scanned, cancelled = await asyncio.gather(
        redeem(clerk, paid["vouchers"][0]["code"], shop.store, key=f"race{round_}"),
        alice.data(REFUND, cancel),
    )
    assert cancelled["cancelBooking"]["__typename"] == "BookingCancelled"
    accounts = booking_accounts(sql, booking_id)
    assert accounts["platform_escrow"] == 0
    if scanned["__typename"] == "VoucherRedeemed":  # the scan went first: one unit refunded
        assert cancelled["cancelBooking"]["refund"]["amount"]["amount"] == "10.00"
        assert accounts["merchant_payable"] == Decimal("9.00")
        assert remaining(sql, shop) == 4
    else:  # the cancellation went first: the scan finds the voucher refunded
        assert scanned["__typename"] == "VoucherRefunded"
        assert cancelled["cancelBooking"]["refund"]["amount"]["amount"] == "20.00"
        assert "merchant_payable" not in accounts
        assert remaining(sql, shop) == 5
    assert booking_state(sql, booking_id)[0] == "CANCELLED"
    assert_ledger_balanced(sql)
