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
class ProgramSeed:
    """A membership program: auto-join, points per currency unit, tiers (name, minPoints)."""

    auto_join: bool
    points_per_unit: Decimal
    tiers: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class CouponSeed:
    """A published, unlimited coupon for everyone, valid at the merchant's stores. Exactly
    one of ``percent_off``, ``amount_off`` and ``free_item`` is set, as its kind says."""

    external_key: str
    title: str
    kind: str  # PERCENT_OFF | AMOUNT_OFF | FREE_ITEM
    percent_off: Decimal | None
    amount_off: Decimal | None
    free_item: str | None
    currency: str
    min_bill: Decimal | None
    valid_from: datetime
    valid_until: datetime
    per_user_limit: int
    store_keys: tuple[str, ...]


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
    program: ProgramSeed | None = None
    coupons: tuple[CouponSeed, ...] = field(default=())
