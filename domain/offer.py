"""The offer rule: when a deal can be bought.

A deal is *on offer* at ``now`` when it is *published* (its merchant published it and has
not paused or ended it), its sale window holds ``now`` (``valid_from <= now < valid_until``)
and it is *in stock* (``remaining_quantity`` is NULL, meaning not limited, or above zero).
This module is the rule's one definition in Python; ``db/offer_sql.py`` states it once in
SQL and ``search/offer.py`` once as a search filter (the search document carries the status
and :func:`is_in_stock`), so nearby, the map, tiles, search, autocomplete and booking all
agree.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Protocol


class DealStatus(enum.Enum):
    """Where a deal is in its lifecycle; only a PUBLISHED deal can be on offer."""

    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    PAUSED = "PAUSED"
    ENDED = "ENDED"


PUBLISHED = DealStatus.PUBLISHED.value
# the verb of each move (publishDeal, pauseCoupon, ...); DRAFT is only ever a start
LIFECYCLE_VERBS = {
    DealStatus.PUBLISHED: "publish",
    DealStatus.PAUSED: "pause",
    DealStatus.ENDED: "end",
}


class OfferTerms(Protocol):
    """What the rule looks at; deal rows of every layer have these attributes."""

    @property
    def status(self) -> str: ...
    @property
    def valid_from(self) -> datetime: ...
    @property
    def valid_until(self) -> datetime: ...
    @property
    def remaining_quantity(self) -> int | None: ...


class OfferState(enum.Enum):
    """Why a deal is or is not on offer, in the order the rule checks it."""

    NOT_PUBLISHED = "NOT_PUBLISHED"
    NOT_YET_ON_SALE = "NOT_YET_ON_SALE"
    ENDED = "ENDED"
    SOLD_OUT = "SOLD_OUT"
    ON_OFFER = "ON_OFFER"


def is_published(status: str) -> bool:
    """Drafts, paused and ended deals are not for sale, whatever their window says."""
    return status == PUBLISHED


def is_in_stock(remaining_quantity: int | None) -> bool:
    """NULL stock is not limited; a limited deal is in stock while units remain."""
    return remaining_quantity is None or remaining_quantity > 0


def offer_state(deal: OfferTerms, now: datetime) -> OfferState:
    """The first reason the deal is not on offer at ``now``, or ``ON_OFFER``."""
    if not is_published(deal.status):
        return OfferState.NOT_PUBLISHED
    if now < deal.valid_from:
        return OfferState.NOT_YET_ON_SALE
    if now >= deal.valid_until:
        return OfferState.ENDED
    if not is_in_stock(deal.remaining_quantity):
        return OfferState.SOLD_OUT
    return OfferState.ON_OFFER


def is_on_offer(deal: OfferTerms, now: datetime) -> bool:
    return offer_state(deal, now) is OfferState.ON_OFFER


def takes_back_units(deal: OfferTerms, now: datetime) -> bool:
    """Refunded units go back to stock while the deal is on sale: published and inside its
    sale window, whether or not it is sold out right now."""
    return offer_state(deal, now) in (OfferState.ON_OFFER, OfferState.SOLD_OUT)
