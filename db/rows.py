"""Typed catalog rows (categories, merchants, stores, deals, reviews) read by the catalog,
review and geo queries: plain frozen dataclasses, no ORM objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class CategoryRow:
    slug: str
    names: dict[str, str]


@dataclass(frozen=True, slots=True)
class MerchantRow:
    id: int
    name: str
    names: dict[str, str]
    category_slug: str
    price_level: int | None
    rating: Decimal | None
    review_count: int


@dataclass(frozen=True, slots=True)
class StoreRow:
    id: int
    merchant_id: int
    name: str
    address: str | None
    lat: float
    lng: float
    timezone: str
    country_code: str
    opening_hours: str | None
    version: int = 1
    # upcoming special days, one "YYYY-MM-DD hours" a line (commerce/hours.py reads them)
    special_hours: str | None = None


@dataclass(frozen=True, slots=True)
class DealRow:
    id: int
    merchant_id: int
    title: str
    description: str
    price: Decimal
    original_price: Decimal | None
    currency: str
    discount_percent: int
    valid_from: datetime
    valid_until: datetime
    remaining_quantity: int | None
    total_quantity: int | None
    per_user_limit: int
    requires_booking: bool
    status: str
    version: int
    category_slug: str | None  # None: the merchant's category
    usage_rules: str | None
    voucher_valid_days: int | None  # None: vouchers last until valid_until


@dataclass(frozen=True, slots=True)
class ReviewRow:
    id: int
    merchant_id: int
    author_name: str
    rating: int
    text: str
    created_at: datetime
    verified: bool
    merchant_reply: str | None
    visited_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RatingSummaryRow:
    merchant_id: int
    count: int
    average: Decimal | None
    histogram: tuple[int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class SlotRow:
    """A bookable start time of a deal and how much of its capacity is left."""

    deal_id: int
    slot_start: datetime
    capacity: int
    remaining: int


def row_to(cls: type[Any], mapping: Any) -> Any:
    """Build a row dataclass from a SQLAlchemy row mapping with the same field names."""
    return cls(**{name: mapping[name] for name in cls.__dataclass_fields__})
