"""The offer rule (``domain/offer.py``) and its search filter, without services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from db.outbox_sql import CategorySource, DealSource
from domain.offer import OfferState, is_in_stock, is_on_offer, offer_state
from search.documents import deal_document
from search.offer import IN_STOCK, STATUS, on_offer_filters
from search.queries import DealQuery, deal_filters
from search.suggest import SuggestQuery, suggest_body

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Terms:
    status: str = "PUBLISHED"
    valid_from: datetime = NOW - DAY
    valid_until: datetime = NOW + DAY
    remaining_quantity: int | None = None


@pytest.mark.parametrize(
    ("terms", "state"),
    [
        (Terms(), OfferState.ON_OFFER),
        (Terms(remaining_quantity=1), OfferState.ON_OFFER),
        (Terms(remaining_quantity=0), OfferState.SOLD_OUT),
        (Terms(valid_from=NOW), OfferState.ON_OFFER),  # the window includes its start
        (Terms(valid_from=NOW + timedelta(seconds=1)), OfferState.NOT_YET_ON_SALE),
        (Terms(valid_until=NOW), OfferState.ENDED),  # and excludes its end
        (Terms(valid_until=NOW - DAY, remaining_quantity=0), OfferState.ENDED),
        (Terms(valid_from=NOW + DAY, remaining_quantity=0), OfferState.NOT_YET_ON_SALE),
        (Terms(status="DRAFT"), OfferState.NOT_PUBLISHED),
        (Terms(status="PAUSED"), OfferState.NOT_PUBLISHED),
        (Terms(status="ENDED", valid_until=NOW - DAY), OfferState.NOT_PUBLISHED),
    ],
)
def test_offer_state(terms: Terms, state: OfferState) -> None:
    assert offer_state(terms, NOW) is state
    assert is_on_offer(terms, NOW) is (state is OfferState.ON_OFFER)


@pytest.mark.parametrize(
    ("remaining", "in_stock"), [(None, True), (5, True), (1, True), (0, False)]
)
def test_null_stock_is_not_limited(remaining: int | None, in_stock: bool) -> None:
    assert is_in_stock(remaining) is in_stock


def test_search_and_autocomplete_filter_deals_the_same_way() -> None:
    filters = on_offer_filters(NOW)
    assert {"term": {IN_STOCK: True}} in filters
    assert {"term": {STATUS: "PUBLISHED"}} in filters
    assert all(f in deal_filters(DealQuery(text="x", now=NOW, size=5)) for f in filters)
    live_deal = suggest_body(SuggestQuery(prefix="x", now=NOW, limit=5))["query"]["bool"]
    (either,) = live_deal["filter"]
    assert {"bool": {"filter": filters}} in either["bool"]["should"]


@pytest.mark.parametrize(("remaining", "in_stock"), [(None, True), (3, True), (0, False)])
def test_the_deal_document_says_whether_it_is_in_stock(
    remaining: int | None, in_stock: bool
) -> None:
    document = deal_document(_deal(remaining))
    assert document[IN_STOCK] is in_stock
    assert document[STATUS] == "PUBLISHED"
    assert document["valid_from"] == (NOW - DAY).isoformat()


def _deal(remaining: int | None) -> DealSource:
    return DealSource(
        id=1,
        title="Coffee",
        description="",
        price=Decimal("3.50"),
        original_price=None,
        currency="EUR",
        discount_percent=0,
        valid_from=NOW - DAY,
        valid_until=NOW + DAY,
        remaining_quantity=remaining,
        status="PUBLISHED",
        merchant_id=2,
        merchant_name="Cafe",
        merchant_names={},
        rating=None,
        category=CategorySource(slug="cafe", names={}, terms={}),
        locations=[(60.0, 25.0)],
    )
