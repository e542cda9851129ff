"""The one sort vocabulary of discovery lists: nearby deals and merchants, and search.

GraphQL ``DealSort`` is this enum as it stands; ``MerchantSort`` offers its DISTANCE and RATING.
Every sort but DISTANCE and RELEVANCE has a leading key before (distance, id).
"""

from __future__ import annotations

import enum


class SortOrder(enum.Enum):
    DISTANCE = "DISTANCE"
    RELEVANCE = "RELEVANCE"
    RATING = "RATING"
    PRICE_ASC = "PRICE_ASC"
    PRICE_DESC = "PRICE_DESC"
    DISCOUNT = "DISCOUNT"


def without_text(order: SortOrder) -> SortOrder:
    """The order of a list that has no text query: RELEVANCE means DISTANCE there."""
    return SortOrder.DISTANCE if order is SortOrder.RELEVANCE else order
