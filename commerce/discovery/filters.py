"""The ``DealFilter`` rules shared by every deal query (nearby, viewport, tiles, search).

The edges decode a filter into :class:`domain.filters.DealFilterValues` (GraphQL input, tile
query string); :func:`validate_deal_filter` checks it once, the same way for all of them, and
returns the conditions geo and search match on plus the instant stores must be open at
(opening hours are judged in Python by :mod:`commerce.hours`, never in SQL).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from commerce.errors import UserInputError
from domain.filters import DealConditions, DealFilterValues

MAX_CATEGORIES = 50
MAX_AMOUNT = Decimal("9999999999.99")
_SLUG = re.compile(r"^[a-z0-9_]{1,40}$")


@dataclass(frozen=True, slots=True)
class DealFilterRules(DealConditions):
    """A validated filter: the conditions geo and search match on, and the instant stores
    must be open at (if any)."""

    open_at: datetime | None = None


def validate_deal_filter(values: DealFilterValues, now: datetime) -> DealFilterRules:
    price_min = money("filter.priceMin", values.price_min)
    price_max = money("filter.priceMax", values.price_max)
    if price_min is not None and price_max is not None and price_min > price_max:
        raise UserInputError("filter.priceMin", "priceMin must not exceed priceMax")
    return DealFilterRules(
        categories=category_slugs(values.categories),
        price_min=price_min,
        price_max=price_max,
        min_rating=rating(values.min_rating),
        open_at=open_instant(values.open_now, values.open_at, now),
    )


def money(argument: str, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value.strip())
    except InvalidOperation as error:
        raise UserInputError(argument, f"{argument} must be a decimal such as 12.50") from error
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise UserInputError(argument, f"{argument} must be a non-negative amount")
    return amount


def rating(value: float | None) -> Decimal | None:
    if value is None:
        return None
    if not math.isfinite(value) or not 0 <= value <= 5:
        raise UserInputError("filter.minRating", "minRating must be between 0 and 5")
    return Decimal(str(value))


def category_slugs(values: tuple[str, ...] | None) -> tuple[str, ...]:
    if not values:
        return ()
    if len(values) > MAX_CATEGORIES:
        raise UserInputError("filter.categories", f"at most {MAX_CATEGORIES} categories")
    for slug in values:
        if not _SLUG.match(slug):
            raise UserInputError("filter.categories", f"{slug!r} is not a category slug")
    return tuple(sorted(set(values)))


def open_instant(open_now: bool | None, open_at: datetime | None, now: datetime) -> datetime | None:
    if open_at is not None and open_now:
        raise UserInputError("filter.openAt", "use either openNow or openAt, not both")
    if open_at is not None:
        if open_at.tzinfo is None:
            raise UserInputError("filter.openAt", "openAt needs a UTC offset, e.g. +02:00")
        return open_at
    return now if open_now else None
