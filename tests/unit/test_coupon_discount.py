"""The discount arithmetic of coupons: exact Decimal, the currency's minor unit, half up,
amounts capped at the bill, free items discount nothing; and the value checks of terms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from commerce.coupons.discount import discount_on, in_minor_units
from commerce.coupons.terms import CouponTerms, check_terms, misfit
from commerce.errors import UserInputError
from commerce.merchants.deal_terms import MoneyValue


@pytest.mark.parametrize(
    ("percent", "bill", "currency", "discount", "payable"),
    [
        ("15", "9.99", "EUR", "1.50", "8.49"),  # 1.4985
        ("33", "0.10", "EUR", "0.03", "0.07"),  # 0.033
        ("12.5", "0.04", "EUR", "0.01", "0.03"),  # 0.005: half up
        ("12.5", "0.12", "EUR", "0.02", "0.10"),  # 0.015: half up, not to even
        ("15", "999", "JPY", "150", "849"),  # 149.85: JPY has no minor unit
        ("10", "5", "JPY", "1", "4"),  # 0.5 yen: half up
        ("33.33", "100.00", "EUR", "33.33", "66.67"),
        ("100", "12.34", "EUR", "12.34", "0.00"),
        ("15", "0.00", "EUR", "0.00", "0.00"),
    ],
)
def test_percent_off(percent: str, bill: str, currency: str, discount: str, payable: str) -> None:
    result = discount_on("PERCENT_OFF", Decimal(bill), currency, percent_off=Decimal(percent))
    assert (result.discount, result.payable) == (Decimal(discount), Decimal(payable))
    assert str(result.discount) == discount and str(result.payable) == payable
    assert result.discount + result.payable == result.bill


@pytest.mark.parametrize(
    ("amount", "bill", "currency", "discount"),
    [
        ("5.00", "12.30", "EUR", "5.00"),
        ("5.00", "3.00", "EUR", "3.00"),
        ("500", "300", "JPY", "300"),
    ],
)
def test_amount_off_is_capped_at_the_bill(
    amount: str, bill: str, currency: str, discount: str
) -> None:
    result = discount_on("AMOUNT_OFF", Decimal(bill), currency, amount_off=Decimal(amount))
    assert result.discount == Decimal(discount)
    assert result.payable == Decimal(bill) - Decimal(discount)


def test_free_item_discounts_nothing() -> None:
    result = discount_on("FREE_ITEM", Decimal("7.20"), "EUR")
    assert (result.discount, result.payable) == (Decimal("0.00"), Decimal("7.20"))


@pytest.mark.parametrize(
    ("kind", "bill", "currency", "kw", "match"),
    [
        ("PERCENT_OFF", "10.50", "JPY", {"percent_off": Decimal(10)}, "minor units"),
        ("PERCENT_OFF", "-1", "EUR", {"percent_off": Decimal(10)}, "minor units"),
        ("PERCENT_OFF", "10", "EUR", {"percent_off": Decimal(0)}, "percentage"),
        ("PERCENT_OFF", "10", "EUR", {"percent_off": Decimal(101)}, "percentage"),
        ("AMOUNT_OFF", "10", "EUR", {}, "positive amount"),
        ("CASHBACK", "10", "EUR", {}, "unknown coupon kind"),
    ],
)
def test_impossible_inputs_raise(
    kind: str, bill: str, currency: str, kw: dict[str, Decimal], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        discount_on(kind, Decimal(bill), currency, **kw)


def test_minor_units() -> None:
    assert in_minor_units(Decimal("1.25"), "EUR") and not in_minor_units(Decimal("1.255"), "EUR")
    assert in_minor_units(Decimal("100"), "JPY") and not in_minor_units(Decimal("100.5"), "JPY")


def _terms(**changes: object) -> CouponTerms:
    now = datetime.now(UTC)
    values: dict[str, object] = {
        "title": "Coffee",
        "kind": "PERCENT_OFF",
        "value": "15",
        "currency": None,
        "min_bill": None,
        "valid_from": now,
        "valid_until": now + timedelta(days=1),
        "store_ids": (1,),
        "total_quantity": None,
        "per_user_limit": 1,
        "audience": "EVERYONE",
        "segment_id": None,
        **changes,
    }
    return CouponTerms(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "argument"),
    [
        ({"value": "0"}, "input.value"),
        ({"value": "100.001"}, "input.value"),
        ({"value": "NaN"}, "input.value"),
        ({"kind": "AMOUNT_OFF", "value": "5"}, "input.currency"),
        ({"kind": "AMOUNT_OFF", "value": "5.5", "currency": "JPY"}, "input.value"),
        ({"kind": "FREE_ITEM", "value": ""}, "input.value"),
        ({"audience": "SEGMENT"}, "input.segmentId"),
        ({"min_bill": MoneyValue("10.5", "JPY")}, "input.minBill.amount"),
    ],
)
def test_malformed_terms_name_the_argument(changes: dict[str, object], argument: str) -> None:
    with pytest.raises(UserInputError) as raised:
        check_terms(_terms(**changes))
    assert raised.value.argument == argument


def test_minimum_bill_sets_the_currency_and_must_match_it() -> None:
    terms = check_terms(_terms(min_bill=MoneyValue("20.00", "EUR")))
    assert terms.currency == "EUR"
    other = check_terms(_terms(min_bill=MoneyValue("20.00", "EUR"), currency="USD"))
    refusal = misfit(other, datetime.now(UTC))
    assert refusal is not None and refusal.field == "input.minBill.currency"
