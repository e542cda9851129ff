"""``Merchant.statement``: every movement of the merchant's money over a period of local days.

The rules (what the balance is, how each line is signed, the totals) are in
``commerce/money/statements.py``; this module maps the result.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import strawberry

from commerce.money.statements import (
    Statement,
    StatementLine,
    StatementRequest,
    merchant_statement,
)
from schema.ids import to_global_id
from schema.types import ContextInfo, Money


@strawberry.enum(
    name="StatementLineKind",
    description="What a statement line records (amounts signed from the merchant's side).",
)
class StatementLineKind(enum.Enum):
    PAYMENT = strawberry.enum_value(
        "PAYMENT", description="A payment captured for a booking: held in escrow (+)."
    )
    REFUND = strawberry.enum_value(
        "REFUND", description="A refund to the customer, out of escrow (-)."
    )
    REDEMPTION = strawberry.enum_value(
        "REDEMPTION", description="A voucher redeemed: its price reaches the balance (+)."
    )
    REVERSAL = strawberry.enum_value(
        "REVERSAL", description="A redemption reversed: its price leaves the balance (-)."
    )
    COMMISSION = strawberry.enum_value(
        "COMMISSION",
        description="The platform's commission on a redemption (-), or given back when the"
        " redemption is reversed (+).",
    )
    PAYOUT = strawberry.enum_value(
        "PAYOUT", description="Money paid out to the merchant, out of the balance (-)."
    )
    COUPON_DISCOUNT = strawberry.enum_value(
        "COUPON_DISCOUNT",
        description="The discount of a platform-funded coupon redeemed on a bill: the"
        " platform pays it to the merchant (+), or takes it back when that coupon"
        " redemption is reversed (-).",
    )


@strawberry.type(description="One movement of the merchant's money.")
class StatementEntry:
    at: datetime = strawberry.field(description="When it happened, in the merchant's zone.")
    kind: StatementLineKind = strawberry.field(description="What it records.")
    amount: Money = strawberry.field(
        description="Signed from the merchant's side: + money for the merchant, - money out."
    )
    balance: Money = strawberry.field(
        description="What the platform owes the merchant after this line (PAYMENT and"
        " REFUND lines do not change it: that money is in escrow)."
    )
    moves_balance: bool = strawberry.field(
        description="True for REDEMPTION, REVERSAL, COMMISSION, PAYOUT and COUPON_DISCOUNT lines."
    )
    booking_id: strawberry.ID | None = strawberry.field(description="The booking concerned.")
    voucher_id: strawberry.ID | None = strawberry.field(
        description="The voucher concerned (REDEMPTION, REVERSAL and their COMMISSION)."
    )
    coupon_redemption_id: strawberry.ID | None = strawberry.field(
        description="The coupon redemption concerned (COUPON_DISCOUNT)."
    )


@strawberry.type(description="A statement's totals, as positive amounts.")
class StatementTotals:
    gross: Money = strawberry.field(description="Payments captured in the period.")
    refunds: Money = strawberry.field(description="Refunded in the period.")
    commission: Money = strawberry.field(
        description="Commission on the period's redemptions less commission given back by"
        " its reversals."
    )
    net: Money = strawberry.field(description="gross - refunds - commission.")


@strawberry.type(
    name="Statement",
    description="Every movement of a merchant's money over whole local days: payments"
    " captured, refunds, redemptions, reversals, commission and payouts. The balance is what"
    " the platform owes the merchant (the payout due): redemptions less commission raise it,"
    " reversals and payouts lower it; payments wait in escrow until their vouchers are"
    " redeemed or refunded. openingBalance + the lines that move the balance ="
    " closingBalance.",
)
class MerchantStatement:
    from_date: date = strawberry.field(name="from", description="The first day (included).")
    to_date: date = strawberry.field(name="to", description="The last day (included).")
    time_zone: str = strawberry.field(
        description="The zone of the days: the merchant's first store's (UTC without one)."
    )
    currency: str = strawberry.field(description="The currency of every amount.")
    opening_balance: Money = strawberry.field(
        description="What the platform owed the merchant when the period began."
    )
    closing_balance: Money = strawberry.field(
        description="What the platform owes the merchant when the period ends: the payout due."
    )
    lines: list[StatementEntry] = strawberry.field(description="In time order.")
    totals: StatementTotals = strawberry.field(description="The period's totals.")


def _line(line: StatementLine, currency: str) -> StatementEntry:
    booking, voucher = line.booking_id, line.voucher_id
    return StatementEntry(
        at=line.at,
        kind=StatementLineKind[line.kind.name],
        amount=Money.of(line.amount, currency),
        balance=Money.of(line.balance, currency),
        moves_balance=line.moves_balance,
        booking_id=None if booking is None else strawberry.ID(to_global_id("Booking", booking)),
        voucher_id=None if voucher is None else strawberry.ID(to_global_id("Voucher", voucher)),
        coupon_redemption_id=_coupon_redemption_id(line.coupon_redemption_id),
    )


def _coupon_redemption_id(ident: int | None) -> strawberry.ID | None:
    return None if ident is None else strawberry.ID(to_global_id("CouponRedemption", ident))


def statement_of(found: Statement) -> MerchantStatement:
    currency, totals = found.currency, found.totals
    return MerchantStatement(
        from_date=found.period.first_day,
        to_date=found.period.last_day,
        time_zone=found.period.zone,
        currency=currency,
        opening_balance=Money.of(found.opening, currency),
        closing_balance=Money.of(found.closing, currency),
        lines=[_line(line, currency) for line in found.lines],
        totals=StatementTotals(
            gross=Money.of(totals.gross, currency),
            refunds=Money.of(totals.refunds, currency),
            commission=Money.of(totals.commission, currency),
            net=Money.of(totals.net, currency),
        ),
    )


async def resolve_statement(
    info: ContextInfo, merchant_id: int, first_day: date, last_day: date, currency: str | None
) -> MerchantStatement:
    principal = info.context.require_viewer()
    request = StatementRequest(merchant_id, first_day, last_day, currency)
    found = await merchant_statement(info.context.database, principal, request)
    return statement_of(found)
