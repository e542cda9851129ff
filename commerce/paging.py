"""Paging rules shared by the simple lists (a merchant's deals and reviews, a user's history).

Two cursors, one wire format (``o:<number>``, base64): a keyset list (ordered by id) pages by
the id of its last row, an offset list by the position of its last row.
"""

from __future__ import annotations

import base64
import binascii

from commerce.errors import UserInputError

MAX_PAGE = 100
_PREFIX = "o:"


def page_size(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise UserInputError("first", f"first must be between 1 and {MAX_PAGE}")
    return first


def encode_id_cursor(row_id: int) -> str:
    """The cursor of a row in a list ordered by id: the next page continues past ``row_id``."""
    return _encode(row_id)


def decode_id_cursor(cursor: str) -> int:
    """The row id inside an :func:`encode_id_cursor` cursor."""
    return _decode(cursor)


def encode_offset(position: int) -> str:
    """The cursor of the row at 1-based ``position`` in a list paged by offset."""
    return _encode(position)


def decode_offset(cursor: str) -> int:
    """The position inside an :func:`encode_offset` cursor: how many rows to skip."""
    return _decode(cursor)


def _encode(number: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{number}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    invalid = UserInputError("after", "the cursor is malformed")
    if len(cursor) > 64:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise invalid from error
    if not raw.startswith(_PREFIX) or not raw[len(_PREFIX) :].isdigit():
        raise invalid
    return int(raw[len(_PREFIX) :])
