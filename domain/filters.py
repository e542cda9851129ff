"""The values of a ``DealFilter``: as an edge decoded them, and the checked conditions that
PostGIS and the search index match on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class DealFilterValues:
    """A ``DealFilter`` as an edge decoded it (GraphQL input, tile query string), unchecked."""

    categories: tuple[str, ...] | None = None
    price_min: str | None = None
    price_max: str | None = None
    min_rating: float | None = None
    open_now: bool | None = None
    open_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DealConditions:
    """The checked conditions on deals that SQL and the index evaluate (hours are judged
    apart, in Python): any of ``categories``, a price range, a minimum merchant rating."""

    categories: tuple[str, ...] = ()
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    min_rating: Decimal | None = None
