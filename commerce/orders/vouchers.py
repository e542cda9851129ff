"""Voucher codes: 65 unguessable bits, typeable, with a check character, stored only hashed.

A code is derived from a random 128-bit nonce (``secrets``) with a server key, so the
database holds the nonce and an HMAC of the code, never the code itself: a leaked table
cannot be redeemed without the key, and the owner can still be shown the code. The key
never leaves ``commerce/``: other layers get a :class:`VoucherView` with the code made.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass

import segno

from db.order_rows import VoucherRow

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: no 0, O, 1 or I
BODY_LENGTH = 13  # 13 x 5 = 65 bits
CODE_LENGTH = BODY_LENGTH + 1
_INDEX = {symbol: value for value, symbol in enumerate(ALPHABET)}


@dataclass(frozen=True, slots=True)
class VoucherView:
    """A voucher as its owner and the store see it: the row and its code, no key."""

    row: VoucherRow
    qr_data: str  # the canonical code, which the QR code holds

    @property
    def code(self) -> str:
        """The code in groups of four, for reading and typing."""
        return display(self.qr_data)


def view_of(row: VoucherRow, key: bytes) -> VoucherView:
    return VoucherView(row=row, qr_data=code_for(key, row.code_nonce))


def new_nonce() -> bytes:
    return secrets.token_bytes(16)


def code_for(key: bytes, nonce: bytes) -> str:
    """The canonical code (no separators) of a voucher nonce."""
    digest = hmac.new(_subkey(key, b"code"), nonce, hashlib.sha256).digest()
    number = int.from_bytes(digest[:9], "big") >> (72 - 5 * BODY_LENGTH)
    body = "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(BODY_LENGTH)))
    return body + check_character(body)


def code_hash(key: bytes, code: str) -> bytes:
    return hmac.new(_subkey(key, b"lookup"), code.encode(), hashlib.sha256).digest()


def check_character(body: str) -> str:
    """Luhn mod 32: catches any single wrong symbol and most swapped neighbours."""
    total = 0
    for position, symbol in enumerate(reversed(body)):
        value = _INDEX[symbol]
        if position % 2 == 0:
            value *= 2
            value = value // 32 + value % 32
        total += value
    return ALPHABET[(32 - total % 32) % 32]


def normalize(typed: str) -> str | None:
    """The canonical code of what staff typed or scanned; None when it cannot be one."""
    code = "".join(typed.split()).replace("-", "").upper()
    if len(code) != CODE_LENGTH or any(symbol not in _INDEX for symbol in code):
        return None
    if check_character(code[:-1]) != code[-1]:
        return None
    return code


def display(code: str) -> str:
    """Groups of four for reading aloud: ``ABCD-EFGH-JKLM-NP``."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def qr_svg(code: str) -> str:
    """A regular QR code (never Micro QR, which many phones cannot read) as SVG text."""
    buffer = io.BytesIO()
    segno.make_qr(code, error="m").save(buffer, kind="svg", scale=4, border=4, xmldecl=False)
    return buffer.getvalue().decode()


def _subkey(key: bytes, label: bytes) -> bytes:
    return hmac.new(key, b"o2o-voucher-" + label, hashlib.sha256).digest()
