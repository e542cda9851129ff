"""Merchant statements: every movement of a merchant's money over a period of local days,
built on the ledger (``db/ledger_sql.py``, postings in :mod:`commerce.money.ledger`).

**The balance** is the merchant's ``merchant_payable`` account: what the platform owes the
merchant. A redemption raises it by the voucher's price less the platform's commission, a
reversal takes exactly that back, a payout (``PAYOUT`` journals, not written yet) lowers it.
The **payout due** at any instant is that balance; the statement's ``closing`` balance is the
payout due at the end of the period. Payments and refunds do not move it: a captured payment
is held in the platform's escrow until its vouchers are redeemed (then it moves to the
balance) or refunded (then it goes back to the customer).

**Lines**, one per ledger movement that concerns the merchant, signed from the merchant's
point of view, in the statement's currency, in time order:

=============  ========================================================  ===============
kind           amount                                                    moves balance
=============  ========================================================  ===============
``PAYMENT``    + the amount captured for a booking (into escrow)          no
``REFUND``     - the amount refunded to the customer (out of escrow)      no
``REDEMPTION`` + the redeemed voucher's price                             yes
``COMMISSION`` - the platform's commission on a redemption;               yes
               + the commission given back when it is reversed
``REVERSAL``   - the reversed voucher's price                             yes
``PAYOUT``     - the amount paid out to the merchant                      yes
``COUPON_``    + the discount of a platform-funded coupon redeemed on a    yes
``DISCOUNT``   bill (the platform pays it, from its marketing account);
               - when that coupon redemption is reversed
=============  ========================================================  ===============

A redemption is two lines (``REDEMPTION`` then its ``COMMISSION``), as is its reversal, so
``opening + sum(lines that move the balance) = closing``; each line carries ``balance``,
the balance after it.

**Totals** (positive amounts): ``gross`` = payments captured, ``refunds`` = refunds,
``commission`` = commission on redemptions less commission given back by reversals,
``net = gross - refunds - commission`` (the part of it still in escrow reaches the balance
when its vouchers are redeemed).

**The period** is ``[from, to]`` in whole days of the merchant's time zone (its first
store's; UTC without stores): from local midnight of ``from`` to local midnight after ``to``,
at most :data:`MAX_DAYS` days. A movement's time is its journal's (the time of the
transaction that caused it). One currency per statement: the one asked for, else the one
the merchant's journals use most, else its deals' currency.

Who may see it: OWNER and MANAGER (``view_statement`` in ``commerce/identity/roles.py``) and
platform admins.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.errors import NotFoundError, UserInputError
from commerce.identity import roles
from commerce.identity.principal import Principal
from commerce.money.ledger import minor_unit
from db import insights_sql, ledger_sql, orders_sql
from db.database import Database
from db.ledger_sql import EntryRow

MAX_DAYS = 366
DEFAULT_CURRENCY = "EUR"  # a merchant without journals or deals
_CURRENCY = re.compile(r"[A-Z]{3}")


class LineKind(enum.Enum):
    PAYMENT = "PAYMENT"
    REFUND = "REFUND"
    REDEMPTION = "REDEMPTION"
    REVERSAL = "REVERSAL"
    COMMISSION = "COMMISSION"
    PAYOUT = "PAYOUT"
    COUPON_DISCOUNT = "COUPON_DISCOUNT"


MOVES_BALANCE = frozenset(
    {
        LineKind.REDEMPTION,
        LineKind.REVERSAL,
        LineKind.COMMISSION,
        LineKind.PAYOUT,
        LineKind.COUPON_DISCOUNT,
    }
)


@dataclass(frozen=True, slots=True)
class StatementRequest:
    merchant_id: int
    first_day: date
    last_day: date
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class Period:
    """Local days ``first_day..last_day`` as the instants ``[start, end)`` in ``zone``."""

    zone: str
    first_day: date
    last_day: date
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class StatementLine:
    at: datetime
    kind: LineKind
    amount: Decimal
    balance: Decimal
    booking_id: int | None
    voucher_id: int | None
    coupon_redemption_id: int | None = None

    @property
    def moves_balance(self) -> bool:
        return self.kind in MOVES_BALANCE


@dataclass(frozen=True, slots=True)
class Totals:
    gross: Decimal
    refunds: Decimal
    commission: Decimal

    @property
    def net(self) -> Decimal:
        return self.gross - self.refunds - self.commission


@dataclass(frozen=True, slots=True)
class Statement:
    merchant_id: int
    currency: str
    period: Period
    opening: Decimal
    closing: Decimal
    lines: list[StatementLine]
    totals: Totals


def period_of(first_day: date, last_day: date, zone: str) -> Period:
    """The instants of the local days; ``BAD_USER_INPUT`` for an empty or too long one."""
    if last_day < first_day:
        raise UserInputError("to", "to must be on or after from")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise UserInputError("to", f"a statement covers at most {MAX_DAYS} days")
    if last_day >= date.max:
        raise UserInputError("to", "to is too far in the future")
    tz = ZoneInfo(zone)
    start = datetime.combine(first_day, time(), tz)
    end = datetime.combine(last_day + timedelta(days=1), time(), tz)
    return Period(zone, first_day, last_day, start, end)


def valid_currency(currency: str) -> str:
    if not _CURRENCY.fullmatch(currency):
        raise UserInputError("currency", "currency must be an ISO 4217 code such as EUR")
    return currency


@dataclass(frozen=True, slots=True)
class _Movement:
    """What one journal did, per account kind, in the statement's currency."""

    journal_kind: str
    at: datetime
    booking_id: int | None
    voucher_id: int | None
    coupon_redemption_id: int | None
    payable: Decimal
    escrow: Decimal
    commission: Decimal


def _movements(entries: list[EntryRow], merchant_id: int, currency: str) -> Iterator[_Movement]:
    own = ledger_sql.merchant_payable(merchant_id, currency).owner
    for _journal, group in groupby(entries, key=lambda entry: entry.journal_id):
        rows = [row for row in group if row.currency == currency]
        if not rows:
            continue

        def total(kind: str, rows: list[EntryRow] = rows) -> Decimal:
            return sum(
                (r.amount for r in rows if r.account_kind == kind and _owned(r, kind, own)),
                Decimal(0),
            )

        first = rows[0]
        yield _Movement(
            journal_kind=first.journal_kind,
            at=first.at,
            booking_id=first.booking_id,
            voucher_id=first.voucher_id,
            coupon_redemption_id=first.coupon_redemption_id,
            payable=total(ledger_sql.MERCHANT_PAYABLE),
            escrow=total(ledger_sql.PLATFORM_ESCROW),
            commission=total(ledger_sql.PLATFORM_COMMISSION),
        )


def _owned(row: EntryRow, kind: str, merchant_owner: str) -> bool:
    """A merchant's journal only posts to its own payable; never count another's."""
    return kind != ledger_sql.MERCHANT_PAYABLE or row.owner == merchant_owner


def _amounts(movement: _Movement) -> list[tuple[LineKind, Decimal]]:
    """A journal's lines: (kind, signed amount), zero amounts left out."""
    match movement.journal_kind:
        case "PAYMENT":
            found = [(LineKind.PAYMENT, movement.escrow)]
        case "REFUND":
            found = [(LineKind.REFUND, movement.escrow)]
        case "REDEMPTION" | "REVERSAL":
            main = LineKind(movement.journal_kind)
            # the price: what reached the balance plus what the platform kept
            found = [
                (main, movement.payable + movement.commission),
                (LineKind.COMMISSION, -movement.commission),
            ]
        case "PAYOUT":
            found = [(LineKind.PAYOUT, movement.payable)]
        case "COUPON" | "COUPON_BACK":  # the platform pays (or takes back) a coupon discount
            found = [(LineKind.COUPON_DISCOUNT, movement.payable)]
        case other:
            raise ValueError(f"a statement cannot show ledger journals of kind {other!r}")
    return [(kind, amount) for kind, amount in found if amount != 0]


def build_lines(
    entries: list[EntryRow], merchant_id: int, currency: str, opening: Decimal, zone: str
) -> list[StatementLine]:
    """The statement's lines from the merchant's entries (in journal order), each with the
    balance after it."""
    tz = ZoneInfo(zone)
    balance = opening
    lines: list[StatementLine] = []
    for movement in _movements(entries, merchant_id, currency):
        for kind, amount in _amounts(movement):
            if kind in MOVES_BALANCE:
                balance += amount
            lines.append(
                StatementLine(
                    at=movement.at.astimezone(tz),
                    kind=kind,
                    amount=amount,
                    balance=balance,
                    booking_id=movement.booking_id,
                    voucher_id=movement.voucher_id,
                    coupon_redemption_id=movement.coupon_redemption_id,
                )
            )
    return lines


def totals_of(lines: list[StatementLine], currency: str) -> Totals:
    def total(kind: LineKind) -> Decimal:
        return sum((line.amount for line in lines if line.kind is kind), Decimal(0))

    unit = minor_unit(currency)
    return Totals(
        gross=total(LineKind.PAYMENT).quantize(unit),
        refunds=(-total(LineKind.REFUND)).quantize(unit),
        commission=(-total(LineKind.COMMISSION)).quantize(unit),
    )


async def _currency(conn: AsyncConnection, request: StatementRequest) -> str:
    if request.currency is not None:
        return valid_currency(request.currency)
    used = await ledger_sql.merchant_ledger_currencies(conn, request.merchant_id)
    if used:
        return used[0]
    found = await insights_sql.merchant_currency(conn, request.merchant_id, None)
    return found or DEFAULT_CURRENCY


async def merchant_statement(
    database: Database, principal: Principal | None, request: StatementRequest
) -> Statement:
    """The merchant's statement; FORBIDDEN for anyone but its owner, managers and admins,
    NOT_FOUND for a merchant that does not exist, BAD_USER_INPUT for a bad period."""
    roles.require(principal, "view_statement", request.merchant_id)
    engine = database.engine.execution_options(
        isolation_level="REPEATABLE READ", postgresql_readonly=True
    )
    async with engine.connect() as conn, conn.begin():  # one snapshot for every figure
        if not await ledger_sql.merchant_exists(conn, request.merchant_id):
            raise NotFoundError("no merchant with this ID")
        zone = await orders_sql.first_store_zone(conn, request.merchant_id) or "UTC"
        period = period_of(request.first_day, request.last_day, zone)
        currency = await _currency(conn, request)
        merchant_id = request.merchant_id
        opening = await ledger_sql.merchant_payable_before(
            conn, merchant_id, currency, period.start
        )
        closing = await ledger_sql.merchant_payable_before(conn, merchant_id, currency, period.end)
        entries = await ledger_sql.merchant_entries(conn, merchant_id, period.start, period.end)
    if len(entries) >= ledger_sql.MAX_PERIOD_ENTRIES:
        raise UserInputError("to", "too many movements for one statement: choose a shorter period")
    lines = build_lines(entries, merchant_id, currency, opening, zone)
    moved = sum((line.amount for line in lines if line.moves_balance), Decimal(0))
    if opening + moved != closing:  # the ledger is append-only: this cannot happen
        raise RuntimeError(f"statement of merchant {merchant_id} does not reconcile")
    return Statement(
        merchant_id=merchant_id,
        currency=currency,
        period=period,
        opening=opening,
        closing=closing,
        lines=lines,
        totals=totals_of(lines, currency),
    )
