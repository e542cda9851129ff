"""GraphQL input types and enums of the public contract."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from domain.filters import DealFilterValues
from domain.sorting import SortOrder


@strawberry.input(description="A WGS-84 point.")
class GeoPointInput:
    lat: float
    lng: float


@strawberry.input(description="Filters shared by nearby, viewport and search queries.")
class DealFilter:
    categories: list[str] | None = strawberry.field(
        default=None, description="Category slugs (any of them matches)."
    )
    price_min: str | None = strawberry.field(default=None, description='Decimal, e.g. "10.00".')
    price_max: str | None = None
    min_rating: float | None = None
    open_now: bool | None = strawberry.field(
        default=None, description="Only stores open now (their own time zone)."
    )
    open_at: datetime | None = strawberry.field(
        default=None, description="Only stores open at this instant (ISO 8601 with offset)."
    )


@strawberry.input(description="Filters of nearbyMerchants.")
class MerchantFilter:
    categories: list[str] | None = None
    min_rating: float | None = None
    open_now: bool | None = None
    open_at: datetime | None = None


def deal_filter_values(given: DealFilter | MerchantFilter | None) -> DealFilterValues:
    """The filter as the core takes it (validated there, once for every query)."""
    if given is None:
        return DealFilterValues()
    return DealFilterValues(
        categories=tuple(given.categories) if given.categories else None,
        price_min=given.price_min if isinstance(given, DealFilter) else None,
        price_max=given.price_max if isinstance(given, DealFilter) else None,
        min_rating=given.min_rating,
        open_now=given.open_now,
        open_at=given.open_at,
    )


DealSort = strawberry.enum(
    SortOrder,
    name="DealSort",
    description="Order of deal lists. Without a text query RELEVANCE = DISTANCE.",
)
"""GraphQL's name for the one sort vocabulary: resolvers take and pass on ``SortOrder``."""


@strawberry.enum
class MerchantSort(enum.Enum):
    DISTANCE = "DISTANCE"
    RATING = "RATING"


@strawberry.enum
class ReviewSort(enum.Enum):
    NEWEST = "NEWEST"
    HIGHEST = "HIGHEST"
    LOWEST = "LOWEST"
