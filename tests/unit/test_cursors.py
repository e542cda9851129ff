"""Opaque keyset cursors (``commerce.cursors``): round trips, typed keys, and refusals."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import orjson
import pytest

from commerce.cursors import (
    MAX_CURSOR_LENGTH,
    decode_cursor,
    decode_opaque,
    encode_cursor,
    encode_opaque,
)
from commerce.errors import UserInputError
from domain.sorting import SortOrder


def forged(payload: object) -> str:
    """A cursor with any JSON inside, encoded the way real ones are."""
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def refused(cursor: str, sort: SortOrder) -> None:
    with pytest.raises(UserInputError) as caught:
        decode_cursor(cursor, sort)
    assert caught.value.argument == "after"


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        (SortOrder.DISTANCE, (153.25, 42)),
        (SortOrder.RATING, (Decimal("-4.5"), 10.0, 7)),
        (SortOrder.PRICE_ASC, (Decimal("12.50"), 0.0, 1)),
        (SortOrder.PRICE_DESC, (Decimal("-99.99"), 2500.5, 3)),
        (SortOrder.DISCOUNT, (-40, 12.5, 9)),
    ],
)
def test_every_sort_key_round_trips_with_its_types(sort: SortOrder, key: tuple[Any, ...]) -> None:
    back = decode_cursor(encode_cursor(sort, key), sort)
    assert back == key
    assert [type(value) for value in back] == [type(value) for value in key]


def test_decimals_keep_their_exact_digits() -> None:
    back = decode_cursor(
        encode_cursor(SortOrder.PRICE_ASC, (Decimal("0.10"), 1.0, 2)), SortOrder.PRICE_ASC
    )
    assert str(back[0]) == "0.10"


def test_cursors_are_url_safe_without_padding() -> None:
    cursor = encode_cursor(SortOrder.RATING, (Decimal("-4.75"), 1234.5678, 99999))
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor


def test_a_cursor_of_another_sort_is_refused() -> None:
    cursor = encode_cursor(SortOrder.PRICE_ASC, (Decimal("12.50"), 0.0, 1))
    refused(cursor, SortOrder.PRICE_DESC)
    refused(encode_cursor(SortOrder.DISTANCE, (1.0, 1)), SortOrder.RATING)


def test_a_cursor_of_another_version_is_refused() -> None:
    refused(forged({"v": 2, "s": "DISTANCE", "k": [1.0, 1]}), SortOrder.DISTANCE)
    assert decode_cursor(forged({"v": 1, "s": "DISTANCE", "k": [1.0, 1]}), SortOrder.DISTANCE)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64 at all!",
        "abc",
        base64.urlsafe_b64encode(b"plain text").decode(),
        forged([1.0, 1]),
        forged({"v": 1, "s": "DISTANCE"}),
        forged({"v": 1, "s": "DISTANCE", "k": [1.0]}),
        forged({"v": 1, "s": "DISTANCE", "k": [1.0, 1, 2]}),
        forged({"v": 1, "s": "DISTANCE", "k": "1.0,1"}),
        forged({"v": 1, "s": "DISTANCE", "k": ["far", 1]}),
        forged({"v": 1, "s": "DISTANCE", "k": [1.0, "x"]}),
        forged({"v": 1, "s": "DISTANCE", "k": [1.0, True]}),
        forged({"v": 1, "s": "DISTANCE", "k": ["NaN", 1]}),
        forged({"v": 1, "s": "DISTANCE", "k": ["inf", 1]}),
    ],
)
def test_malformed_distance_cursors_are_refused(cursor: str) -> None:
    refused(cursor, SortOrder.DISTANCE)


@pytest.mark.parametrize("lead", ["NaN", "Infinity", "abc", None])
def test_a_malformed_decimal_lead_is_refused(lead: object) -> None:
    refused(forged({"v": 1, "s": "RATING", "k": [lead, 1.0, 1]}), SortOrder.RATING)


def test_an_oversized_cursor_is_refused_before_decoding() -> None:
    refused("A" * (MAX_CURSOR_LENGTH + 1), SortOrder.DISTANCE)


def test_opaque_cursors_carry_their_kind() -> None:
    cursor = encode_opaque("search:RELEVANCE", [40])
    assert decode_opaque(cursor, "search:RELEVANCE", lambda values: values) == [40]
    with pytest.raises(UserInputError):
        decode_opaque(cursor, "search:PRICE_ASC", lambda values: values)


def test_an_opaque_cursor_whose_values_do_not_type_check_is_refused() -> None:
    def typed(values: list[Any]) -> int:
        (offset,) = values
        return int(offset)

    assert decode_opaque(encode_opaque("k", [3]), "k", typed) == 3
    with pytest.raises(UserInputError):
        decode_opaque(encode_opaque("k", [3, 4]), "k", typed)
    with pytest.raises(UserInputError):
        decode_opaque(encode_opaque("k", ["three"]), "k", typed)
