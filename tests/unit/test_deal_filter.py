"""``validate_deal_filter``: the one set of ``DealFilter`` rules behind nearby, view and tiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from commerce.discovery.filters import MAX_CATEGORIES, validate_deal_filter
from commerce.errors import UserInputError
from domain.filters import DealFilterValues

NOW = datetime(2026, 6, 5, 12, 0, tzinfo=UTC)


def refused(values: DealFilterValues) -> UserInputError:
    with pytest.raises(UserInputError) as caught:
        validate_deal_filter(values, NOW)
    return caught.value


def test_an_empty_filter_asks_for_nothing() -> None:
    rules = validate_deal_filter(DealFilterValues(), NOW)
    assert rules.categories == ()
    assert rules.price_min is None and rules.price_max is None
    assert rules.min_rating is None and rules.open_at is None


def test_prices_become_exact_decimals_without_surrounding_space() -> None:
    rules = validate_deal_filter(DealFilterValues(price_min=" 12.50 ", price_max="30"), NOW)
    assert rules.price_min == Decimal("12.50") and rules.price_max == Decimal("30")
    assert isinstance(rules.price_min, Decimal)


def test_equal_bounds_are_a_valid_price_range() -> None:
    rules = validate_deal_filter(DealFilterValues(price_min="10", price_max="10"), NOW)
    assert rules.price_min == rules.price_max == Decimal("10")


@pytest.mark.parametrize("price", ["abc", "", "1,50", "-0.01", "NaN", "Infinity", "1e11"])
def test_a_price_that_is_not_a_plain_amount_is_refused(price: str) -> None:
    error = refused(DealFilterValues(price_min=price))
    assert error.argument == "filter.priceMin"


def test_the_largest_storable_price_is_accepted_and_one_cent_more_is_not() -> None:
    rules = validate_deal_filter(DealFilterValues(price_max="9999999999.99"), NOW)
    assert rules.price_max == Decimal("9999999999.99")
    assert refused(DealFilterValues(price_max="10000000000.00")).argument == "filter.priceMax"


def test_a_minimum_above_the_maximum_is_refused_on_the_minimum() -> None:
    error = refused(DealFilterValues(price_min="20", price_max="10"))
    assert error.argument == "filter.priceMin"
    assert "priceMax" in error.message


@pytest.mark.parametrize("value", [0.0, 3.5, 5.0])
def test_ratings_from_zero_to_five_are_exact_decimals(value: float) -> None:
    rules = validate_deal_filter(DealFilterValues(min_rating=value), NOW)
    assert rules.min_rating == Decimal(str(value))


@pytest.mark.parametrize("value", [-0.1, 5.01, float("nan"), float("inf")])
def test_ratings_outside_zero_to_five_are_refused(value: float) -> None:
    assert refused(DealFilterValues(min_rating=value)).argument == "filter.minRating"


def test_categories_are_deduplicated_and_sorted() -> None:
    rules = validate_deal_filter(DealFilterValues(categories=("spa", "food", "spa")), NOW)
    assert rules.categories == ("food", "spa")


def test_an_empty_category_list_filters_nothing() -> None:
    assert validate_deal_filter(DealFilterValues(categories=()), NOW).categories == ()


@pytest.mark.parametrize("slug", ["Food", "food-court", "", "x" * 41, "café", "a b"])
def test_a_category_that_is_not_a_slug_is_refused(slug: str) -> None:
    error = refused(DealFilterValues(categories=("food", slug)))
    assert error.argument == "filter.categories"


def test_at_most_fifty_categories() -> None:
    many = tuple(f"c{i}" for i in range(MAX_CATEGORIES))
    assert len(validate_deal_filter(DealFilterValues(categories=many), NOW).categories) == 50
    error = refused(DealFilterValues(categories=(*many, "one_more")))
    assert error.argument == "filter.categories"


def test_open_now_means_open_at_the_request_instant() -> None:
    assert validate_deal_filter(DealFilterValues(open_now=True), NOW).open_at == NOW
    assert validate_deal_filter(DealFilterValues(open_now=False), NOW).open_at is None


def test_open_at_is_kept_with_its_own_offset() -> None:
    helsinki = datetime(2026, 6, 5, 22, 0, tzinfo=timezone(timedelta(hours=3)))
    rules = validate_deal_filter(DealFilterValues(open_at=helsinki, open_now=False), NOW)
    assert rules.open_at == helsinki and rules.open_at.utcoffset() == timedelta(hours=3)


def test_open_at_without_an_offset_is_refused() -> None:
    error = refused(DealFilterValues(open_at=datetime(2026, 6, 5, 22, 0)))
    assert error.argument == "filter.openAt"


def test_open_now_and_open_at_together_are_refused() -> None:
    error = refused(DealFilterValues(open_now=True, open_at=NOW))
    assert error.argument == "filter.openAt"
