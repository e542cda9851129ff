"""What a deal says (title, price, window, stock, rules) and the checks on it, before and
after it meets the database.

- Malformed values are ``BAD_USER_INPUT`` naming the argument (``input.price.amount``): text
  out of bounds, an amount that is not a non-negative decimal with at most two places, a
  currency that is not ISO 4217 letters, an instant without a UTC offset, a count out of
  range, no store or too many.
- Well-formed values that do not fit are the union member ``InvalidInput``: a sale window
  that ends before it starts or is over, an original price below the price or in another
  currency, an unknown category, a store of another merchant, fewer units than were sold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from commerce.errors import UserInputError
from commerce.outcomes import InvalidInput
from db.deals_sql import DealValues

MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_USAGE_RULES = 2000
MAX_STORES = 50
MAX_QUANTITY = 1_000_000
MAX_PER_USER = 100
MAX_VOUCHER_DAYS = 3650
MAX_WINDOW = timedelta(days=5 * 366)
MAX_AMOUNT = Decimal("9999999999.99")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_SLUG = re.compile(r"^[a-z0-9_]{1,40}$")


@dataclass(frozen=True, slots=True)
class MoneyValue:
    """An amount as the client wrote it (a decimal string) and its currency."""

    amount: str
    currency: str


@dataclass(frozen=True, slots=True)
class DealTerms:
    """Everything a deal says, as requested (create) or as it will be after a change."""

    title: str
    description: str
    category_slug: str | None
    price: MoneyValue
    original_price: MoneyValue | None
    store_ids: tuple[int, ...]
    sale_starts_at: datetime
    sale_ends_at: datetime
    voucher_valid_days: int | None
    total_quantity: int | None
    per_user_limit: int
    requires_booking: bool
    usage_rules: str | None


def text(value: str, argument: str, limit: int, *, required: bool = False) -> str:
    cleaned = value.strip()
    if required and not cleaned:
        raise UserInputError(argument, f"{argument} must not be empty")
    if len(cleaned) > limit:
        raise UserInputError(argument, f"{argument} must be at most {limit} characters")
    return cleaned


def amount(money: MoneyValue, argument: str) -> Decimal:
    """The amount of ``money``: a non-negative decimal with at most two places."""
    try:
        value = Decimal(money.amount.strip())
    except InvalidOperation as error:
        raise UserInputError(
            f"{argument}.amount", "amount must be a decimal such as 12.50"
        ) from error
    exponent = value.as_tuple().exponent
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        raise UserInputError(f"{argument}.amount", f"amount must be between 0 and {MAX_AMOUNT}")
    if isinstance(exponent, int) and exponent < -2:
        raise UserInputError(f"{argument}.amount", "amount has at most two decimal places")
    if not _CURRENCY.match(money.currency):
        raise UserInputError(f"{argument}.currency", "currency is three ISO 4217 letters: EUR")
    return value.quantize(Decimal("0.01"))


def instant(value: datetime, argument: str) -> datetime:
    if value.tzinfo is None:
        raise UserInputError(argument, f"{argument} needs a UTC offset, e.g. 2026-06-01T12:00Z")
    return value


def count(value: int | None, argument: str, low: int, high: int) -> int | None:
    if value is not None and not low <= value <= high:
        raise UserInputError(argument, f"{argument} must be between {low} and {high}")
    return value


def store_ids(values: tuple[int, ...]) -> tuple[int, ...]:
    unique = tuple(dict.fromkeys(values))
    if not 1 <= len(unique) <= MAX_STORES:
        raise UserInputError("input.storeIds", f"name 1 to {MAX_STORES} stores")
    return unique


def category(value: str | None) -> str | None:
    if value is not None and not _SLUG.match(value):
        raise UserInputError("input.categorySlug", f"{value!r} is not a category slug")
    return value


def check_terms(terms: DealTerms) -> DealTerms:
    """Every malformed value of ``terms`` raises ``BAD_USER_INPUT``; returns them cleaned."""
    amount(terms.price, "input.price")
    if terms.original_price is not None:
        amount(terms.original_price, "input.originalPrice")
    instant(terms.sale_starts_at, "input.saleStartsAt")
    instant(terms.sale_ends_at, "input.saleEndsAt")
    count(terms.voucher_valid_days, "input.voucherValidDays", 1, MAX_VOUCHER_DAYS)
    count(terms.total_quantity, "input.totalQuantity", 0, MAX_QUANTITY)
    count(terms.per_user_limit, "input.perUserLimit", 1, MAX_PER_USER)
    usage = terms.usage_rules
    usage = None if usage is None else text(usage, "input.usageRules", MAX_USAGE_RULES)
    return DealTerms(
        title=text(terms.title, "input.title", MAX_TITLE, required=True),
        description=text(terms.description, "input.description", MAX_DESCRIPTION),
        category_slug=category(terms.category_slug),
        price=terms.price,
        original_price=terms.original_price,
        store_ids=store_ids(terms.store_ids),
        sale_starts_at=terms.sale_starts_at,
        sale_ends_at=terms.sale_ends_at,
        voucher_valid_days=terms.voucher_valid_days,
        total_quantity=terms.total_quantity,
        per_user_limit=terms.per_user_limit,
        requires_booking=terms.requires_booking,
        usage_rules=usage or None,
    )


def misfit(terms: DealTerms, now: datetime) -> InvalidInput | None:
    """Why well-formed ``terms`` cannot be a deal (the database-free part), or None."""
    if terms.sale_ends_at <= terms.sale_starts_at:
        return InvalidInput("saleEndsAt must be after saleStartsAt", "input.saleEndsAt")
    if terms.sale_ends_at <= now:
        return InvalidInput(
            "the sale window is over: saleEndsAt is in the past", "input.saleEndsAt"
        )
    if terms.sale_ends_at - terms.sale_starts_at > MAX_WINDOW:
        return InvalidInput("a sale window lasts at most five years", "input.saleEndsAt")
    original = terms.original_price
    if original is not None:
        if original.currency != terms.price.currency:
            return InvalidInput(
                "originalPrice must be in the currency of price", "input.originalPrice.currency"
            )
        if amount(original, "input.originalPrice") < amount(terms.price, "input.price"):
            return InvalidInput("originalPrice must not be below price", "input.originalPrice")
    return None


def values_of(terms: DealTerms) -> DealValues:
    """The deal's columns (``terms`` checked by :func:`check_terms` and :func:`misfit`)."""
    original = terms.original_price
    return DealValues(
        title=terms.title,
        description=terms.description,
        category_slug=terms.category_slug,
        price=amount(terms.price, "input.price"),
        original_price=None if original is None else amount(original, "input.originalPrice"),
        currency=terms.price.currency,
        valid_from=terms.sale_starts_at,
        valid_until=terms.sale_ends_at,
        voucher_valid_days=terms.voucher_valid_days,
        per_user_limit=terms.per_user_limit,
        requires_booking=terms.requires_booking,
        usage_rules=terms.usage_rules,
    )
