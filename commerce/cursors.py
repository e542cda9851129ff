"""Opaque keyset cursors: the sort key tuple of the last row, typed back on decode."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import orjson

from commerce.errors import UserInputError
from domain.sorting import SortOrder

T = TypeVar("T")
CURSOR_VERSION = 1
MAX_CURSOR_LENGTH = 512
_DECIMAL_LEADS = {SortOrder.RATING, SortOrder.PRICE_ASC, SortOrder.PRICE_DESC}


def encode_cursor(sort: SortOrder, key: tuple[Any, ...]) -> str:
    values = [str(v) if isinstance(v, Decimal) else v for v in key]
    return encode_opaque(sort.value, values)


def decode_cursor(cursor: str, sort: SortOrder) -> tuple[Any, ...]:
    """The key tuple inside ``cursor``; a cursor of another sort or version is rejected."""
    return decode_opaque(cursor, sort.value, lambda values: _typed_key(sort, values))


def encode_opaque(kind: str, values: list[Any]) -> str:
    """An opaque cursor: the last row's sort values, tagged with what they sort by."""
    raw = orjson.dumps({"v": CURSOR_VERSION, "s": kind, "k": values})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_opaque(cursor: str, kind: str, typed: Callable[[Any], T]) -> T:
    """Decode a cursor of ``kind``; ``typed`` checks and converts its values (raising
    ``ValueError``/``TypeError``/``KeyError`` when they are wrong)."""
    invalid = UserInputError("after", "the cursor is malformed or belongs to another query")
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
        if data["v"] != CURSOR_VERSION or data["s"] != kind:
            raise invalid
        return typed(data["k"])
    except (ValueError, KeyError, TypeError, binascii.Error, InvalidOperation) as error:
        raise invalid from error


def _typed_key(sort: SortOrder, values: list[Any]) -> tuple[Any, ...]:
    expected = 2 if sort is SortOrder.DISTANCE else 3
    if not isinstance(values, list) or len(values) != expected:
        raise ValueError("wrong key length")
    *lead, distance, ident = values
    distance, ident = float(distance), int(ident)
    if not math.isfinite(distance) or isinstance(values[-1], bool):
        raise ValueError("bad key")
    if not lead:
        return (distance, ident)
    head = Decimal(str(lead[0])) if sort in _DECIMAL_LEADS else int(lead[0])
    if isinstance(head, Decimal) and not head.is_finite():
        raise ValueError("bad key")
    return (head, distance, ident)
