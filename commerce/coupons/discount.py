"""The discount a coupon gives on a bill, exactly, in Decimal (no I/O).

Amounts are quantized to the currency's minor unit (cents; whole units for JPY and the other
zero-decimal currencies of ``commerce/money/ledger.py``), rounding half up. A percentage is
of the whole bill; an amount is capped at the bill; a free item discounts nothing on the
bill (the item is handed over). The payable amount is always ``bill - discount``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from commerce.money.ledger import minor_unit

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Discount:
    """What a redemption takes off a bill and what is left to pay, in ``currency``."""

    bill: Decimal
    discount: Decimal
    payable: Decimal
    currency: str


def in_minor_units(amount: Decimal, currency: str) -> bool:
    """Whether ``amount`` is a whole number of the currency's minor unit (no 0.5 JPY)."""
    return amount == amount.quantize(minor_unit(currency))


def discount_on(
    kind: str,
    bill: Decimal,
    currency: str,
    *,
    percent_off: Decimal | None = None,
    amount_off: Decimal | None = None,
) -> Discount:
    """The discount of a ``kind`` coupon on ``bill`` (non-negative, in minor units)."""
    if bill < 0 or not in_minor_units(bill, currency):
        raise ValueError(f"a bill of {bill} {currency} is not an amount in minor units")
    unit = minor_unit(currency)
    if kind == "PERCENT_OFF":
        if percent_off is None or not Decimal(0) < percent_off <= HUNDRED:
            raise ValueError("a PERCENT_OFF coupon needs a percentage in (0, 100]")
        off = (bill * percent_off / HUNDRED).quantize(unit, rounding=ROUND_HALF_UP)
    elif kind == "AMOUNT_OFF":
        if amount_off is None or amount_off <= 0:
            raise ValueError("an AMOUNT_OFF coupon needs a positive amount")
        off = amount_off.quantize(unit, rounding=ROUND_HALF_UP)
    elif kind == "FREE_ITEM":
        off = Decimal(0)
    else:
        raise ValueError(f"unknown coupon kind {kind!r}")
    off = min(off, bill).quantize(unit)
    return Discount(
        bill=bill.quantize(unit),
        discount=off,
        payable=(bill - off).quantize(unit),
        currency=currency,
    )
