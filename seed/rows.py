"""Plain row records produced by the seed builders and written by the loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from domain.slots import WeeklyRule


@dataclass(frozen=True, slots=True)
class CategorySeed:
    slug: str
    names: dict[str, str]
    terms: dict[str, list[str]]
    position: int


@dataclass(frozen=True, slots=True)
class StoreSeed:
    external_key: str
    name: str
    address: str | None
    lat: float
    lng: float
    timezone: str
    country_code: str
    opening_hours: str | None


@dataclass(frozen=True, slots=True)
class DealSeed:
    external_key: str
    title: str
    description: str
    price: Decimal
    original_price: Decimal | None
    currency: str
    valid_from: datetime
    valid_until: datetime
    total_quantity: int | None
    remaining_quantity: int | None
    per_user_limit: int
    requires_booking: bool
    store_keys: tuple[str, ...]
    # a weekly slot schedule in the stores' zone (deals booked by time only)
    weekly: tuple[WeeklyRule, ...] = ()


@dataclass(frozen=True, slots=True)
class ReviewSeed:
    external_key: str
    author_name: str
    rating: int
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MerchantSeed:
    external_key: str
    name: str
    names: dict[str, str]
    category_slug: str
    price_level: int | None
    source: str
    stores: tuple[StoreSeed, ...]
    deals: tuple[DealSeed, ...] = field(default=())
    reviews: tuple[ReviewSeed, ...] = field(default=())
