"""What a coupon says (kind and value, minimum bill, window, stores, limits, audience) and
the checks on it.

- Malformed values are ``BAD_USER_INPUT`` naming the argument: a title out of bounds, a value
  that is not a percentage in (0, 100] (PERCENT_OFF), not a positive amount in the coupon's
  currency (AMOUNT_OFF) or not 1 to 200 characters (FREE_ITEM), a missing currency, an
  instant without offset, a count out of range, a SEGMENT audience without ``segmentId``.
- Well-formed values that do not fit are ``InvalidInput``: a window that ends before it
  starts or is over, a minimum bill in another currency, a store of another merchant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from commerce.coupons.discount import in_minor_units
from commerce.errors import UserInputError
from commerce.merchants.deal_terms import (
    MAX_PER_USER,
    MAX_QUANTITY,
    MAX_TITLE,
    MAX_WINDOW,
    MoneyValue,
    amount,
    count,
    instant,
    store_ids,
    text,
)
from commerce.outcomes import InvalidInput
from db.coupons_sql import CouponValues

KINDS = ("PERCENT_OFF", "AMOUNT_OFF", "FREE_ITEM")
AUDIENCES = ("EVERYONE", "MEMBERS", "SEGMENT")
MAX_FREE_ITEM = 200
MAX_VALUE_INPUT = 200
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class CouponTerms:
    """Everything a coupon says, as requested (create) or as it will be after a change."""

    title: str
    kind: str
    value: str | None
    currency: str | None
    min_bill: MoneyValue | None
    valid_from: datetime
    valid_until: datetime
    store_ids: tuple[int, ...]
    total_quantity: int | None
    per_user_limit: int
    audience: str
    segment_id: int | None


def values_of(terms: CouponTerms) -> CouponValues:
    """The columns of well-formed ``terms`` (after :func:`check_terms`)."""
    value = terms.value or ""
    currency = terms.currency or (terms.min_bill.currency if terms.min_bill else None)
    min_bill = None if terms.min_bill is None else amount(terms.min_bill, "input.minBill")
    return CouponValues(
        title=terms.title,
        kind=terms.kind,
        percent_off=Decimal(value) if terms.kind == "PERCENT_OFF" else None,
        amount_off=Decimal(value).quantize(Decimal("0.01")) if terms.kind == "AMOUNT_OFF" else None,
        free_item=value if terms.kind == "FREE_ITEM" else None,
        currency=currency,
        min_bill=min_bill,
        valid_from=terms.valid_from,
        valid_until=terms.valid_until,
        per_user_limit=terms.per_user_limit,
        audience=terms.audience,
        segment_id=terms.segment_id if terms.audience == "SEGMENT" else None,
    )


def check_terms(terms: CouponTerms) -> CouponTerms:
    """Every malformed value of ``terms`` raises ``BAD_USER_INPUT``; returns them cleaned."""
    if terms.kind not in KINDS:
        raise UserInputError("input.kind", f"kind is one of {', '.join(KINDS)}")
    if terms.audience not in AUDIENCES:
        raise UserInputError("input.audience", f"audience is one of {', '.join(AUDIENCES)}")
    if terms.audience == "SEGMENT" and terms.segment_id is None:
        raise UserInputError("input.segmentId", "a SEGMENT audience needs segmentId")
    currency = terms.currency or (terms.min_bill.currency if terms.min_bill else None)
    if terms.min_bill is not None:
        min_bill = amount(terms.min_bill, "input.minBill")
        if not in_minor_units(min_bill, terms.min_bill.currency):
            raise UserInputError(
                "input.minBill.amount", f"{terms.min_bill.currency} has no such minor unit"
            )
    if currency is not None:
        amount(MoneyValue("0", currency), "input")  # three capital letters
    instant(terms.valid_from, "input.validFrom")
    instant(terms.valid_until, "input.validUntil")
    count(terms.total_quantity, "input.totalQuantity", 0, MAX_QUANTITY)
    count(terms.per_user_limit, "input.perUserLimit", 1, MAX_PER_USER)
    return CouponTerms(
        title=text(terms.title, "input.title", MAX_TITLE, required=True),
        kind=terms.kind,
        value=_value(terms.kind, terms.value, currency),
        currency=currency,
        min_bill=terms.min_bill,
        valid_from=terms.valid_from,
        valid_until=terms.valid_until,
        store_ids=store_ids(terms.store_ids),
        total_quantity=terms.total_quantity,
        per_user_limit=terms.per_user_limit,
        audience=terms.audience,
        segment_id=terms.segment_id if terms.audience == "SEGMENT" else None,
    )


def _value(kind: str, value: str | None, currency: str | None) -> str:
    """The kind's value, cleaned: a percentage, an amount in ``currency``, or the item."""
    raw = (value or "").strip()
    if len(raw) > MAX_VALUE_INPUT:
        raise UserInputError("input.value", f"value must be at most {MAX_VALUE_INPUT} characters")
    if kind == "FREE_ITEM":
        return text(raw, "input.value", MAX_FREE_ITEM, required=True)
    number = _decimal(raw)
    if kind == "PERCENT_OFF":
        if number is None or not Decimal(0) < number <= HUNDRED or _places(number) > 2:
            raise UserInputError(
                "input.value", "a PERCENT_OFF value is a percentage above 0, at most 100: 15"
            )
        return str(number)
    if currency is None:
        raise UserInputError("input.currency", "an AMOUNT_OFF coupon needs currency (or minBill)")
    if number is None or number <= 0:
        raise UserInputError("input.value", "an AMOUNT_OFF value is a positive amount: 5.00")
    amount(MoneyValue(raw, currency), "input.value")
    if not in_minor_units(number, currency):
        raise UserInputError("input.value", f"{currency} has no such minor unit")
    return str(number)


def _decimal(raw: str) -> Decimal | None:
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _places(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def misfit(terms: CouponTerms, now: datetime) -> InvalidInput | None:
    """Why well-formed ``terms`` cannot be a coupon (the database-free part), or None."""
    if terms.valid_until <= terms.valid_from:
        return InvalidInput("validUntil must be after validFrom", "input.validUntil")
    if terms.valid_until <= now:
        return InvalidInput("validUntil is in the past", "input.validUntil")
    if terms.valid_until - terms.valid_from > MAX_WINDOW:
        return InvalidInput("a coupon is valid for at most five years", "input.validUntil")
    if terms.min_bill is not None and terms.min_bill.currency != terms.currency:
        return InvalidInput("minBill must be in the coupon's currency", "input.minBill.currency")
    return None
