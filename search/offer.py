"""The offer rule of ``domain/offer.py`` over search documents: their fields and one filter.

A deal document carries its ``status``, its sale window and ``in_stock``
(:func:`domain.offer.is_in_stock` when it was written; the outbox republishes a deal the
moment it sells out or comes back, and when its status changes: migrations 0006 and 0008),
so the index can tell which deals are on offer without knowing stock levels.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.offer import PUBLISHED, OfferTerms, is_in_stock

STATUS = "status"
VALID_FROM = "valid_from"
VALID_UNTIL = "valid_until"
IN_STOCK = "in_stock"


def offer_fields(deal: OfferTerms) -> dict[str, Any]:
    """The fields of a deal document that :func:`on_offer_filters` reads."""
    return {
        STATUS: deal.status,
        VALID_FROM: deal.valid_from.isoformat(),
        VALID_UNTIL: deal.valid_until.isoformat(),
        IN_STOCK: is_in_stock(deal.remaining_quantity),
    }


def offer_mappings() -> dict[str, Any]:
    return {
        STATUS: {"type": "keyword"},
        VALID_FROM: {"type": "date"},
        VALID_UNTIL: {"type": "date"},
        IN_STOCK: {"type": "boolean"},
    }


def on_offer_filters(now: datetime) -> list[dict[str, Any]]:
    """Filter clauses that keep the deal documents on offer at ``now`` (and nothing else)."""
    moment = now.isoformat()
    return [
        {"term": {"kind": "deal"}},
        {"term": {STATUS: PUBLISHED}},
        {"range": {VALID_FROM: {"lte": moment}}},
        {"range": {VALID_UNTIL: {"gt": moment}}},
        {"term": {IN_STOCK: True}},
    ]
