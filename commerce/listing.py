"""Paging rules shared by the simple lists (a merchant's deals and reviews)."""

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


def encode_offset(position: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{position}".encode()).decode().rstrip("=")


def decode_offset(cursor: str) -> int:
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
