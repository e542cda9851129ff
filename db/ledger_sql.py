"""The money ledger (migration 0010): double-entry, append-only, balanced per currency.

API for readers (statements, insights) -- the tables and what they mean:

``ledger_accounts`` (id, owner, kind, currency, merchant_id, created_at), one per
(owner, kind, currency):

- ``customer_funds``      owner ``customer:<subject>``: the customer's side of a payment;
                          goes negative when they pay, back up when refunded.
- ``platform_escrow``     owner ``platform``: money captured and not yet earned by a merchant.
- ``merchant_payable``    owner ``merchant:<id>`` (``merchant_id`` set): what the platform owes
                          the merchant (payout due = its balance).
- ``platform_commission`` owner ``platform``: the platform's revenue from redemptions.
- ``platform_marketing``  owner ``platform`` (migration 0015): what the platform spends on
                          coupons it funds; goes negative by each discount it pays.

``ledger_journals`` (id, kind, event_key, merchant_id, booking_id, voucher_id, payment_id,
refund_id, redemption_id, reverses_id, at, coupon_redemption_id): one per movement of money,
written in the transaction of its event; ``at`` is that transaction's time (``now()``);
``event_key`` is unique (``payment:<id>``, ``redemption:<id>``, ``reversal:<redemption id>``,
``refund:<id>``, ``coupon:<coupon redemption id>``, ``coupon_back:<coupon redemption
id>``), so an event is posted at most once. Kinds and their entries (amounts are
signed; positive raises the account's balance; every journal sums to zero per currency):

- ``PAYMENT``    customer_funds -total, platform_escrow +total            (payment captured)
- ``REDEMPTION`` platform_escrow -price, merchant_payable +(price - commission),
                 platform_commission +commission                          (voucher redeemed)
- ``REVERSAL``   the REDEMPTION's entries negated; ``reverses_id`` = that journal
- ``REFUND``     platform_escrow -amount, customer_funds +amount          (refund succeeded)
- ``PAYOUT``     reserved (merchant_payable -amount to the merchant's bank); not written yet.
- ``COUPON``     platform_marketing -discount, merchant_payable +discount (a platform-funded
                 coupon redeemed: the platform pays the merchant the discount it gave;
                 ``coupon_redemption_id`` set; migration 0015)
- ``COUPON_BACK`` the COUPON journal's entries negated (that coupon redemption reversed);
                 ``reverses_id`` = that journal

``ledger_entries`` (id, journal_id, account_id, currency, amount NUMERIC(12,2) <> 0).

:func:`merchant_entries` returns a merchant's entries in a period (every entry of every
journal of that merchant, with its journal's kind, time and references, and the account's
kind): a statement's lines are its ``merchant_payable`` and ``platform_commission`` entries,
its gross the PAYMENT entries' escrow side. :func:`account_balance` and
:func:`balances_by_currency` sum entries; :func:`merchant_payable_before` is a merchant's
payable balance at an instant (a statement's opening and closing balances) and
:func:`merchant_ledger_currencies` the currencies its journals use. The statement's rules are
in ``commerce/money/statements.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import bookings, deals, ledger_accounts, ledger_entries, ledger_journals, merchants

CUSTOMER_FUNDS = "customer_funds"
PLATFORM_ESCROW = "platform_escrow"
MERCHANT_PAYABLE = "merchant_payable"
PLATFORM_COMMISSION = "platform_commission"
PLATFORM_MARKETING = "platform_marketing"
PLATFORM = "platform"
MAX_PERIOD_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class Account:
    """Which account: ``merchant_id`` is set for a merchant's payable only."""

    owner: str
    kind: str
    currency: str
    merchant_id: int | None = None


def customer_funds(subject: str, currency: str) -> Account:
    return Account(f"customer:{subject}", CUSTOMER_FUNDS, currency)


def platform_escrow(currency: str) -> Account:
    return Account(PLATFORM, PLATFORM_ESCROW, currency)


def platform_commission(currency: str) -> Account:
    return Account(PLATFORM, PLATFORM_COMMISSION, currency)


def platform_marketing(currency: str) -> Account:
    return Account(PLATFORM, PLATFORM_MARKETING, currency)


def merchant_payable(merchant_id: int, currency: str) -> Account:
    return Account(f"merchant:{merchant_id}", MERCHANT_PAYABLE, currency, merchant_id)


@dataclass(frozen=True, slots=True)
class Journal:
    """The event a set of entries records; ids of what it concerns where they apply."""

    kind: str
    event_key: str
    merchant_id: int
    booking_id: int | None = None
    voucher_id: int | None = None
    payment_id: int | None = None
    refund_id: int | None = None
    redemption_id: int | None = None
    reverses_id: int | None = None
    coupon_redemption_id: int | None = None


@dataclass(frozen=True, slots=True)
class Leg:
    """One entry to write: an account and a signed, non-zero amount in its currency."""

    account: Account
    amount: Decimal


@dataclass(frozen=True, slots=True)
class EntryRow:
    """An entry as statements read it: the entry, its account's kind and its journal."""

    entry_id: int
    journal_id: int
    journal_kind: str
    at: datetime
    account_kind: str
    owner: str
    currency: str
    amount: Decimal
    booking_id: int | None
    voucher_id: int | None
    payment_id: int | None
    refund_id: int | None
    redemption_id: int | None
    coupon_redemption_id: int | None


async def account_id(conn: AsyncConnection, account: Account) -> int:
    """The account's id, created on first use (concurrent first uses agree)."""
    await conn.execute(
        insert(ledger_accounts)
        .values(
            owner=account.owner,
            kind=account.kind,
            currency=account.currency,
            merchant_id=account.merchant_id,
        )
        .on_conflict_do_nothing(index_elements=["owner", "kind", "currency"])
    )
    found = await conn.execute(
        select(ledger_accounts.c.id).where(
            ledger_accounts.c.owner == account.owner,
            ledger_accounts.c.kind == account.kind,
            ledger_accounts.c.currency == account.currency,
        )
    )
    return int(found.scalar_one())


async def post(conn: AsyncConnection, journal: Journal, legs: Sequence[Leg]) -> int | None:
    """Write a journal and its entries; None (nothing written) when its event was posted
    before. Balance is checked by the database at commit, not here."""
    created = await conn.execute(
        insert(ledger_journals)
        .values(
            kind=journal.kind,
            event_key=journal.event_key,
            merchant_id=journal.merchant_id,
            booking_id=journal.booking_id,
            voucher_id=journal.voucher_id,
            payment_id=journal.payment_id,
            refund_id=journal.refund_id,
            redemption_id=journal.redemption_id,
            reverses_id=journal.reverses_id,
            coupon_redemption_id=journal.coupon_redemption_id,
        )
        .on_conflict_do_nothing(index_elements=["event_key"])
        .returning(ledger_journals.c.id)
    )
    journal_id = created.scalar_one_or_none()
    if journal_id is None:
        return None
    rows = [
        {
            "journal_id": journal_id,
            "account_id": await account_id(conn, leg.account),
            "currency": leg.account.currency,
            "amount": leg.amount,
        }
        for leg in legs
    ]
    if rows:
        await conn.execute(ledger_entries.insert(), rows)
    return int(journal_id)


async def journal_by_key(conn: AsyncConnection, event_key: str) -> int | None:
    found = await conn.execute(
        select(ledger_journals.c.id).where(ledger_journals.c.event_key == event_key)
    )
    value = found.scalar_one_or_none()
    return None if value is None else int(value)


async def legs_of(conn: AsyncConnection, journal_id: int) -> list[Leg]:
    """A journal's entries as legs (to write their opposite)."""
    result = await conn.execute(
        select(
            ledger_accounts.c.owner,
            ledger_accounts.c.kind,
            ledger_accounts.c.currency,
            ledger_accounts.c.merchant_id,
            ledger_entries.c.amount,
        )
        .select_from(ledger_entries)
        .join(ledger_accounts, ledger_accounts.c.id == ledger_entries.c.account_id)
        .where(ledger_entries.c.journal_id == journal_id)
        .order_by(ledger_entries.c.id)
    )
    return [
        Leg(Account(r.owner, r.kind, r.currency, r.merchant_id), Decimal(r.amount)) for r in result
    ]


async def merchant_entries(
    conn: AsyncConnection, merchant_id: int, start: datetime, end: datetime
) -> list[EntryRow]:
    """Every entry of the merchant's journals with ``start <= at < end``, in time order
    (at most ``MAX_PERIOD_ENTRIES``; a longer period must be read in parts)."""
    j, e, a = ledger_journals, ledger_entries, ledger_accounts
    result = await conn.execute(
        select(
            e.c.id.label("entry_id"),
            j.c.id.label("journal_id"),
            j.c.kind.label("journal_kind"),
            j.c.at,
            a.c.kind.label("account_kind"),
            a.c.owner,
            e.c.currency,
            e.c.amount,
            j.c.booking_id,
            j.c.voucher_id,
            j.c.payment_id,
            j.c.refund_id,
            j.c.redemption_id,
            j.c.coupon_redemption_id,
        )
        .select_from(j.join(e, e.c.journal_id == j.c.id).join(a, a.c.id == e.c.account_id))
        .where(j.c.merchant_id == merchant_id, j.c.at >= start, j.c.at < end)
        .order_by(j.c.at, j.c.id, e.c.id)
        .limit(MAX_PERIOD_ENTRIES)
    )
    return [EntryRow(**dict(row)) for row in result.mappings()]


async def account_balance(conn: AsyncConnection, account: Account) -> Decimal:
    """The sum of the account's entries (zero for an account never used)."""
    result = await conn.execute(
        select(func.coalesce(func.sum(ledger_entries.c.amount), 0))
        .select_from(ledger_entries)
        .join(ledger_accounts, ledger_accounts.c.id == ledger_entries.c.account_id)
        .where(
            ledger_accounts.c.owner == account.owner,
            ledger_accounts.c.kind == account.kind,
            ledger_accounts.c.currency == account.currency,
        )
    )
    return Decimal(result.scalar_one())


async def balances_by_currency(conn: AsyncConnection) -> dict[str, Decimal]:
    """The whole ledger's sum per currency: zero in every currency, always."""
    result = await conn.execute(
        select(ledger_entries.c.currency, func.sum(ledger_entries.c.amount)).group_by(
            ledger_entries.c.currency
        )
    )
    return {currency: Decimal(total) for currency, total in result}


@dataclass(frozen=True, slots=True)
class Parties:
    """Who a booking's money moves between: its customer and its deal's merchant."""

    user_id: str
    merchant_id: int
    currency: str


async def booking_parties(conn: AsyncConnection, booking_id: int) -> Parties:
    result = await conn.execute(
        select(bookings.c.user_id, deals.c.merchant_id, bookings.c.currency)
        .join(deals, deals.c.id == bookings.c.deal_id)
        .where(bookings.c.id == booking_id)
    )
    row = result.one()
    return Parties(row.user_id, int(row.merchant_id), row.currency)


async def commission_rate(conn: AsyncConnection, merchant_id: int) -> Decimal | None:
    """The merchant's own rate; None when it uses the platform default."""
    result = await conn.execute(
        select(merchants.c.commission_rate).where(merchants.c.id == merchant_id)
    )
    value = result.scalar_one_or_none()
    return None if value is None else Decimal(value)


async def merchant_payable_before(
    conn: AsyncConnection, merchant_id: int, currency: str, before: datetime
) -> Decimal:
    """The merchant's payable balance (what the platform owes it) from the journals with
    ``at < before``: a statement's opening (``before`` = its start) or closing balance."""
    j, e, a = ledger_journals, ledger_entries, ledger_accounts
    account = merchant_payable(merchant_id, currency)
    result = await conn.execute(
        select(func.coalesce(func.sum(e.c.amount), 0))
        .select_from(e.join(j, j.c.id == e.c.journal_id).join(a, a.c.id == e.c.account_id))
        .where(
            a.c.owner == account.owner,
            a.c.kind == MERCHANT_PAYABLE,
            a.c.currency == currency,
            j.c.at < before,
        )
    )
    return Decimal(result.scalar_one())


async def merchant_ledger_currencies(conn: AsyncConnection, merchant_id: int) -> list[str]:
    """The currencies of the merchant's journals, the most used first."""
    j, e = ledger_journals, ledger_entries
    result = await conn.execute(
        select(e.c.currency)
        .select_from(j.join(e, e.c.journal_id == j.c.id))
        .where(j.c.merchant_id == merchant_id)
        .group_by(e.c.currency)
        .order_by(func.count().desc(), e.c.currency)
    )
    return [str(currency) for currency in result.scalars()]


async def merchant_exists(conn: AsyncConnection, merchant_id: int) -> bool:
    result = await conn.execute(select(merchants.c.id).where(merchants.c.id == merchant_id))
    return result.first() is not None
