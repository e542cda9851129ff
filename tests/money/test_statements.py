"""Merchant statements on the real stack: a scripted period gives the expected lines, and the
totals and balances of ``Merchant.statement`` and of its CSV equal sums written here in plain
SQL over ``ledger_entries`` (independently of db/ledger_sql.py); who may read them; bad
periods."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest

from tests.conftest import GraphQL
from tests.orders.fixtures import Caller, Shop, ShopFactory, token
from tests.orders.test_flow import redeem
from tests.orders.test_payments import REFUND, paid_booking
from tests.orders.test_redemption import REVERSE

ZONE = "Pacific/Kiritimati"  # UTC+14: local days differ from UTC days most of the time
STATEMENT = """query($id: ID!, $from: Date!, $to: Date!) { merchant(id: $id) {
  statement(from: $from, to: $to) {
    from to timeZone currency
    openingBalance { amount currency } closingBalance { amount currency }
    lines { at kind amount { amount currency } balance { amount } movesBalance bookingId
            voucherId }
    totals { gross { amount } refunds { amount } commission { amount } net { amount } } } } }"""
CSV_COLUMNS = [
    "at",
    "kind",
    "amount",
    "currency",
    "balance",
    "moves_balance",
    "booking_id",
    "voucher_id",
]


def member(gql: GraphQL, shop: Shop, role: str) -> Caller:
    subject = f"staff-{role}-{uuid.uuid4().hex[:8]}"
    return Caller(gql, token(subject, "merchant", shop.merchant_id, staff_role=role), subject)


def local_today() -> date:
    return datetime.now(ZoneInfo(ZONE)).date()


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), ZoneInfo(ZONE))


def post_journal(
    sql: psycopg.Connection[Any],
    shop: Shop,
    kind: str,
    at: datetime,
    legs: list[tuple[str, str, str]],
) -> None:
    """A balanced journal of ``shop``'s merchant at ``at`` (the ledger is append-only, but
    writing journals in the past is how a test gets an opening balance); legs are
    (owner, account kind, amount)."""
    with sql.transaction():
        row = sql.execute(
            "INSERT INTO ledger_journals (kind, event_key, merchant_id, at)"
            " VALUES (%s, %s, %s, %s) RETURNING id",
            [kind, f"test:{uuid.uuid4().hex}", shop.merchant_id, at],
        ).fetchone()
        assert row is not None
        for owner, account_kind, amount in legs:
            merchant = shop.merchant_id if account_kind == "merchant_payable" else None
            account = sql.execute(
                "INSERT INTO ledger_accounts (owner, kind, currency, merchant_id)"
                " VALUES (%s, %s, 'EUR', %s) ON CONFLICT (owner, kind, currency)"
                " DO UPDATE SET owner = EXCLUDED.owner RETURNING id",
                [owner, account_kind, merchant],
            ).fetchone()
            assert account is not None
            sql.execute(
                "INSERT INTO ledger_entries (journal_id, account_id, currency, amount)"
                " VALUES (%s, %s, 'EUR', %s)",
                [row[0], account[0], Decimal(amount)],
            )


def independent_figures(
    sql: psycopg.Connection[Any], merchant_id: int, first: date, last: date
) -> dict[str, Decimal]:
    """The statement's figures in plain SQL: the period's bounds computed by PostgreSQL in
    the zone, sums straight over the entries."""
    row = sql.execute(
        """
        WITH bounds AS (
          SELECT (%(first)s::date)::timestamp AT TIME ZONE %(zone)s AS start_at,
                 (%(last)s::date + 1)::timestamp AT TIME ZONE %(zone)s AS end_at),
        e AS (
          SELECT j.kind AS journal_kind, a.kind AS account_kind, a.owner, e.amount, j.at
            FROM ledger_entries e
            JOIN ledger_journals j ON j.id = e.journal_id
            JOIN ledger_accounts a ON a.id = e.account_id
           WHERE j.merchant_id = %(m)s AND e.currency = 'EUR')
        SELECT
          coalesce(sum(amount) FILTER (WHERE journal_kind = 'PAYMENT'
            AND account_kind = 'platform_escrow' AND at >= start_at AND at < end_at), 0),
          coalesce(-sum(amount) FILTER (WHERE journal_kind = 'REFUND'
            AND account_kind = 'platform_escrow' AND at >= start_at AND at < end_at), 0),
          coalesce(sum(amount) FILTER (WHERE account_kind = 'platform_commission'
            AND at >= start_at AND at < end_at), 0),
          coalesce(sum(amount) FILTER (WHERE account_kind = 'merchant_payable'
            AND owner = 'merchant:' || %(m)s AND at < start_at), 0),
          coalesce(sum(amount) FILTER (WHERE account_kind = 'merchant_payable'
            AND owner = 'merchant:' || %(m)s AND at < end_at), 0)
        FROM e, bounds
        """,
        {"first": first, "last": last, "zone": ZONE, "m": merchant_id},
    ).fetchone()
    assert row is not None
    gross, refunds, commission, opening, closing = (Decimal(v) for v in row)
    return {
        "gross": gross,
        "refunds": refunds,
        "commission": commission,
        "net": gross - refunds - commission,
        "opening": opening,
        "closing": closing,
    }


def figures_of(statement: dict[str, Any]) -> dict[str, Decimal]:
    totals = statement["totals"]
    return {
        "gross": Decimal(totals["gross"]["amount"]),
        "refunds": Decimal(totals["refunds"]["amount"]),
        "commission": Decimal(totals["commission"]["amount"]),
        "net": Decimal(totals["net"]["amount"]),
        "opening": Decimal(statement["openingBalance"]["amount"]),
        "closing": Decimal(statement["closingBalance"]["amount"]),
    }


async def fetch_csv(
    client: httpx.AsyncClient, merchant: str, first: str, last: str, bearer: str | None
) -> httpx.Response:
    headers = {} if bearer is None else {"Authorization": f"Bearer {bearer}"}
    params = {"from": first, "to": last}
    return await client.get(f"/merchants/{merchant}/statement.csv", params=params, headers=headers)


TOTALS_ROWS = [
    "OPENING_BALANCE",
    "TOTAL_GROSS",
    "TOTAL_REFUNDS",
    "TOTAL_COMMISSION",
    "TOTAL_NET",
    "CLOSING_BALANCE",
]


def csv_figures(body: str) -> tuple[list[dict[str, str]], dict[str, Decimal]]:
    """The CSV's statement lines and its totals rows (which come last, in this order)."""
    rows = list(csv.DictReader(io.StringIO(body)))
    lines, totals = rows[: -len(TOTALS_ROWS)], rows[-len(TOTALS_ROWS) :]
    assert [r["kind"] for r in totals] == TOTALS_ROWS
    assert not {r["kind"] for r in lines} & set(TOTALS_ROWS)
    amounts = [Decimal(r["amount"]) for r in totals]
    names = ["opening", "gross", "refunds", "commission", "net", "closing"]
    return lines, dict(zip(names, amounts, strict=True))


async def test_a_scripted_period_and_its_csv_match_the_ledger(
    shops: ShopFactory,
    customer: Callable[[], Caller],
    staff: Callable[[Shop], Caller],
    gql: GraphQL,
    client: httpx.AsyncClient,
    sql: psycopg.Connection[Any],
) -> None:
    shop = shops(stock=20, price="10.00")
    sql.execute("UPDATE stores SET timezone = %s WHERE merchant_id = %s", [ZONE, shop.merchant_id])
    today = local_today()
    first, last = today - timedelta(days=1), today + timedelta(days=1)
    payable = f"merchant:{shop.merchant_id}"
    bank = f"bank:{payable}"  # where a payout would go (test-only owner)
    # before the period (one minute before its local midnight): an earlier redemption
    post_journal(
        sql,
        shop,
        "REDEMPTION",
        midnight(first) - timedelta(minutes=1),
        [
            ("platform", "platform_escrow", "-20.00"),
            (payable, "merchant_payable", "18.00"),
            ("platform", "platform_commission", "2.00"),
        ],
    )
    # at the period's first instant: a payout of part of it
    post_journal(
        sql,
        shop,
        "PAYOUT",
        midnight(first),
        [(payable, "merchant_payable", "-5.00"), (bank, "customer_funds", "5.00")],
    )

    alice, bob, clerk = customer(), customer(), staff(shop)
    paid = await paid_booking(alice, shop, 3)  # PAYMENT 30
    other = await paid_booking(bob, shop, 1)  # PAYMENT 10
    v1 = paid["vouchers"][0]
    await redeem(clerk, v1["code"], shop.store, key="r1")  # REDEMPTION 10, COMMISSION -1
    undo = {"input": {"voucherId": v1["id"], "reason": "wrong phone"}}
    reversed_ = (await clerk.data(REVERSE, undo))["reverseRedemption"]
    assert reversed_["__typename"] == "RedemptionReversed"  # REVERSAL -10, COMMISSION +1
    await redeem(clerk, v1["code"], shop.store, key="r2")  # REDEMPTION 10, COMMISSION -1
    cancel = {"input": {"bookingId": paid["booking"]["id"], "reason": "plans changed"}}
    refund = (await alice.data(REFUND, cancel))["cancelBooking"]["refund"]
    assert refund["amount"]["amount"] == "20.00"  # REFUND -20 (the two unused vouchers)
    await redeem(clerk, other["vouchers"][0]["code"], shop.store, key="r3")

    owner = member(gql, shop, "owner")
    variables = {"id": shop.merchant, "from": first.isoformat(), "to": last.isoformat()}
    statement = (await owner.data(STATEMENT, variables))["merchant"]["statement"]
    assert statement["timeZone"] == ZONE and statement["currency"] == "EUR"
    assert (statement["from"], statement["to"]) == (first.isoformat(), last.isoformat())
    booking, voucher = paid["booking"]["id"], v1["id"]
    bob_booking, bob_voucher = other["booking"]["id"], other["vouchers"][0]["id"]
    lines = [
        (line["kind"], line["amount"]["amount"], line["balance"]["amount"])
        for line in statement["lines"]
    ]
    assert lines == [
        ("PAYOUT", "-5.00", "13.00"),
        ("PAYMENT", "30.00", "13.00"),
        ("PAYMENT", "10.00", "13.00"),
        ("REDEMPTION", "10.00", "23.00"),
        ("COMMISSION", "-1.00", "22.00"),
        ("REVERSAL", "-10.00", "12.00"),
        ("COMMISSION", "1.00", "13.00"),
        ("REDEMPTION", "10.00", "23.00"),
        ("COMMISSION", "-1.00", "22.00"),
        ("REFUND", "-20.00", "22.00"),
        ("REDEMPTION", "10.00", "32.00"),
        ("COMMISSION", "-1.00", "31.00"),
    ]
    references = [(line["bookingId"], line["voucherId"]) for line in statement["lines"]]
    assert references == [
        (None, None),
        (booking, None),
        (bob_booking, None),
        *[(booking, voucher)] * 6,
        (booking, None),
        *[(bob_booking, bob_voucher)] * 2,
    ]
    for line in statement["lines"]:
        at = datetime.fromisoformat(line["at"])
        assert at.utcoffset() == timedelta(hours=14), line["at"]  # the merchant's zone
        assert first <= at.date() <= last
        assert line["movesBalance"] is (line["kind"] not in ("PAYMENT", "REFUND"))

    figures = figures_of(statement)
    assert figures == {
        "gross": Decimal("40.00"),
        "refunds": Decimal("20.00"),
        "commission": Decimal("2.00"),
        "net": Decimal("18.00"),
        "opening": Decimal("18.00"),
        "closing": Decimal("31.00"),
    }
    assert figures == independent_figures(sql, shop.merchant_id, first, last)
    moved = sum(Decimal(x["amount"]["amount"]) for x in statement["lines"] if x["movesBalance"])
    assert figures["opening"] + moved == figures["closing"]

    # the day before the period: the earlier redemption alone; its closing is our opening
    before = first - timedelta(days=1)
    earlier_vars = {**variables, "from": before.isoformat(), "to": before.isoformat()}
    earlier = (await owner.data(STATEMENT, earlier_vars))["merchant"]["statement"]
    assert [(x["kind"], x["amount"]["amount"]) for x in earlier["lines"]] == [
        ("REDEMPTION", "20.00"),
        ("COMMISSION", "-2.00"),
    ]
    assert earlier["closingBalance"]["amount"] == statement["openingBalance"]["amount"]

    # the CSV: the same lines and totals, for a manager too
    manager = member(gql, shop, "manager")
    response = await fetch_csv(
        client, shop.merchant, first.isoformat(), last.isoformat(), manager.bearer
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.text.splitlines()[0] == ",".join(CSV_COLUMNS)
    csv_lines, csv_totals = csv_figures(response.text)
    assert csv_totals == independent_figures(sql, shop.merchant_id, first, last)
    assert [(r["kind"], r["amount"], r["balance"]) for r in csv_lines] == lines
    assert [(r["booking_id"] or None, r["voucher_id"] or None) for r in csv_lines] == references
    assert {r["currency"] for r in csv_lines} == {"EUR"}
    # the numeric id works as well as the global one
    by_number = await fetch_csv(
        client, str(shop.merchant_id), first.isoformat(), last.isoformat(), manager.bearer
    )
    assert by_number.text == response.text


async def test_only_owners_and_managers_see_statements(
    shops: ShopFactory,
    gql: GraphQL,
    client: httpx.AsyncClient,
    customer: Callable[[], Caller],
) -> None:
    shop, rival = shops(), shops()
    day = datetime.now(UTC).date().isoformat()
    variables = {"id": shop.merchant, "from": day, "to": day}

    async def code(who: Caller | GraphQL) -> str | None:
        body = await who(STATEMENT, variables)
        errors = body.get("errors")
        return None if not errors else str(errors[0]["extensions"]["code"])

    allowed = [member(gql, shop, "owner"), member(gql, shop, "manager")]
    refused = [member(gql, shop, "cashier"), member(gql, rival, "owner"), customer()]
    for who in allowed:
        assert await code(who) is None
    for who in refused:
        assert await code(who) == "FORBIDDEN"
    assert await code(gql) == "UNAUTHENTICATED"

    async def status(bearer: str | None) -> int:
        return (await fetch_csv(client, shop.merchant, day, day, bearer)).status_code

    for who in allowed:
        assert await status(who.bearer) == 200
    for who in refused:
        assert await status(who.bearer) == 403
    assert await status(None) == 401
    assert await status("not-a-token") == 401
    response = await fetch_csv(client, shop.merchant, day, day, None)
    assert response.headers["www-authenticate"] == "Bearer"
    # the rival's owner with the right bearer but its own merchant in the path: fine
    rival_owner = member(gql, rival, "owner")
    assert (await fetch_csv(client, rival.merchant, day, day, rival_owner.bearer)).is_success


@pytest.mark.parametrize(
    ("first", "last", "argument"),
    [
        ("2026-01-02", "2026-01-01", "to"),  # to before from
        ("2025-01-01", "2026-01-02", "to"),  # 367 days
        ("2026-02-30", "2026-03-01", "from"),  # not a date
    ],
)
async def test_bad_periods_are_refused(
    shops: ShopFactory,
    gql: GraphQL,
    client: httpx.AsyncClient,
    first: str,
    last: str,
    argument: str,
) -> None:
    shop = shops()
    owner = member(gql, shop, "owner")
    body = await owner(STATEMENT, {"id": shop.merchant, "from": first, "to": last})
    assert body.get("errors"), body
    error = body["errors"][0]
    if argument == "to":  # a valid Date the statement refuses; a bad Date fails the scalar
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"].get("argument") == argument
    response = await fetch_csv(client, shop.merchant, first, last, owner.bearer)
    assert response.status_code == 400
    assert response.json()["argument"] == argument


async def test_a_full_year_is_fine_and_csv_arguments_are_checked(
    shops: ShopFactory, gql: GraphQL, client: httpx.AsyncClient
) -> None:
    shop = shops()
    owner = member(gql, shop, "owner")
    year = {"id": shop.merchant, "from": "2024-01-01", "to": "2024-12-31"}  # 366 days
    statement = (await owner.data(STATEMENT, year))["merchant"]["statement"]
    assert statement["lines"] == [] and statement["closingBalance"]["amount"] == "0.00"
    assert statement["timeZone"] == "UTC"
    missing = await client.get(
        f"/merchants/{shop.merchant}/statement.csv",
        params={"from": "2024-01-01"},
        headers={"Authorization": f"Bearer {owner.bearer}"},
    )
    assert missing.status_code == 400 and missing.json()["argument"] == "to"
    loose = await fetch_csv(client, shop.merchant, "2024-1-1", "2024-01-02", owner.bearer)
    assert loose.status_code == 400 and loose.json()["argument"] == "from"
    bad_id = await fetch_csv(client, "not-an-id", "2024-01-01", "2024-01-02", owner.bearer)
    assert bad_id.status_code == 400
    admin = token(f"admin-{uuid.uuid4().hex[:8]}", "admin")
    unknown = await fetch_csv(client, "999999999999", "2024-01-01", "2024-01-02", admin)
    assert unknown.status_code == 404
