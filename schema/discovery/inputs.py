"""GraphQL input types and enums of the public contract."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from domain.filters import DealFilterValues
from domain.sorting import SortOrder
from schema.docs import describe_values


@strawberry.input(description="A WGS-84 point.")
class GeoPointInput:
    lat: float = strawberry.field(description="Latitude in degrees, -90 to 90.")
    lng: float = strawberry.field(description="Longitude in degrees, -180 to 180.")


@strawberry.input(description="Filters shared by nearby, viewport and search queries.")
class DealFilter:
    categories: list[str] | None = strawberry.field(
        default=None, description="Category slugs (any of them matches)."
    )
    price_min: str | None = strawberry.field(
        default=None,
        description='Lowest price, inclusive, as a decimal string (e.g. "10.00"), in the '
        "deal's own currency; at most priceMax.",
    )
    price_max: str | None = strawberry.field(
        default=None,
        description='Highest price, inclusive, as a decimal string (e.g. "25.00"), in the '
        "deal's own currency.",
    )
    min_rating: float | None = strawberry.field(
        default=None,
        description="Lowest merchant rating, 0 to 5; merchants without reviews never match.",
    )
    open_now: bool | None = strawberry.field(
        default=None,
        description="Only stores open now in their own time zone; stores with unknown hours "
        "never match. Not together with openAt.",
    )
    open_at: datetime | None = strawberry.field(
        default=None,
        description="Only stores open at this instant (ISO 8601 with offset), judged in each "
        "store's time zone; stores with unknown hours never match.",
    )


@strawberry.input(description="Filters of nearbyMerchants.")
class MerchantFilter:
    categories: list[str] | None = strawberry.field(
        default=None, description="Category slugs (any of them matches)."
    )
    min_rating: float | None = strawberry.field(
        default=None,
        description="Lowest merchant rating, 0 to 5; merchants without reviews never match.",
    )
    open_now: bool | None = strawberry.field(
        default=None,
        description="Only merchants with a store open now (in its own time zone). Not "
        "together with openAt.",
    )
    open_at: datetime | None = strawberry.field(
        default=None,
        description="Only merchants with a store open at this instant (ISO 8601 with offset).",
    )


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


DealSort = describe_values(
    DISTANCE="Nearest first (geodesic distance to the nearest valid store); searchDeals needs "
    "near for it.",
    RELEVANCE="Best text match first (boosted by closeness when near is given); without a "
    "text query (nearbyDeals) the same as DISTANCE.",
    RATING="Highest merchant rating first (merchants without reviews last).",
    PRICE_ASC="Cheapest first (the price amount, whatever the currency).",
    PRICE_DESC="Most expensive first.",
    DISCOUNT="Highest discountPercent first.",
)(
    strawberry.enum(
        SortOrder,
        name="DealSort",
        description="Order of deal lists; in nearby lists equal keys go nearest first.",
    )
)
"""GraphQL's name for the one sort vocabulary: resolvers take and pass on ``SortOrder``."""


@describe_values(
    DISTANCE="Nearest first (geodesic distance to the merchant's nearest store).",
    RATING="Highest rating first (merchants without reviews last), then nearest.",
)
@strawberry.enum(description="Order of nearbyMerchants.")
class MerchantSort(enum.Enum):
    DISTANCE = "DISTANCE"
    RATING = "RATING"


@describe_values(
    NEWEST="Most recent first.",
    HIGHEST="Most stars first, then most recent.",
    LOWEST="Fewest stars first, then most recent.",
)
@strawberry.enum(description="Order of a merchant's reviews.")
class ReviewSort(enum.Enum):
    NEWEST = "NEWEST"
    HIGHEST = "HIGHEST"
    LOWEST = "LOWEST"
