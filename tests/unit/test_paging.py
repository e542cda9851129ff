"""Paging of the simple lists (``commerce.paging``): page sizes and the two cursors (by row id
and by position) that share one wire format."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from commerce.errors import UserInputError
from commerce.paging import (
    MAX_PAGE,
    decode_id_cursor,
    decode_offset,
    encode_id_cursor,
    encode_offset,
    page_size,
)

Codec = tuple[Callable[[int], str], Callable[[str], int]]
CODECS: list[Codec] = [(encode_id_cursor, decode_id_cursor), (encode_offset, decode_offset)]
NAMES = ["id", "offset"]


@pytest.mark.parametrize("first", [1, 20, MAX_PAGE])
def test_page_sizes_from_one_to_the_maximum(first: int) -> None:
    assert page_size(first) == first


@pytest.mark.parametrize("first", [0, -1, MAX_PAGE + 1])
def test_page_sizes_outside_the_range_are_refused(first: int) -> None:
    with pytest.raises(UserInputError) as caught:
        page_size(first)
    assert caught.value.argument == "first"


@pytest.mark.parametrize("codec", CODECS, ids=NAMES)
@pytest.mark.parametrize("number", [0, 1, 19, 123_456_789, 2**63 - 1])
def test_numbers_round_trip_without_padding(codec: Codec, number: int) -> None:
    encode, decode = codec
    cursor = encode(number)
    assert decode(cursor) == number
    assert "=" not in cursor


@pytest.mark.parametrize("codec", CODECS, ids=NAMES)
def test_cursors_of_different_numbers_differ(codec: Codec) -> None:
    encode, _decode = codec
    assert len({encode(number) for number in range(200)}) == 200


def test_both_cursors_share_the_wire_format_clients_already_hold() -> None:
    assert encode_id_cursor(42) == encode_offset(42) == "bzo0Mg"
    assert decode_id_cursor("bzo0Mg") == decode_offset("bzo0Mg") == 42


@pytest.mark.parametrize("codec", CODECS, ids=NAMES)
@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "%%%",
        "A" * 65,
        base64.urlsafe_b64encode(b"o:").decode(),
        base64.urlsafe_b64encode(b"o:-1").decode(),
        base64.urlsafe_b64encode(b"o:1.5").decode(),
        base64.urlsafe_b64encode(b"x:12").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_malformed_cursors_are_refused(codec: Codec, cursor: str) -> None:
    _encode, decode = codec
    with pytest.raises(UserInputError) as caught:
        decode(cursor)
    assert caught.value.argument == "after"
