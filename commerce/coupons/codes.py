"""Claimed coupon codes: the voucher code scheme (``commerce/orders/vouchers.py``: 65 bits,
typeable, a check character, stored only as an HMAC) under a key of their own, derived from
the voucher key with the label ``o2o-coupon``. A coupon code therefore never finds a voucher
and a voucher code never finds a coupon (their lookup hashes differ), and the key never
leaves ``commerce/``: other layers get a :class:`ClaimedCouponView`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from commerce.orders import vouchers
from db.coupon_rows import ClaimedCouponRow

LABEL = b"o2o-coupon"


def coupon_key(voucher_key: bytes) -> bytes:
    """The key of coupon codes, distinct from every voucher subkey."""
    return hmac.new(voucher_key, LABEL, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class ClaimedCouponView:
    """A claimed coupon as its owner and the store see it: the row and its code."""

    row: ClaimedCouponRow
    qr_data: str  # the canonical code, which the QR code holds

    @property
    def code(self) -> str:
        """The code in groups of four, for reading and typing."""
        return vouchers.display(self.qr_data)

    def qr_svg(self) -> str:
        return vouchers.qr_svg(self.qr_data)


def view_of(row: ClaimedCouponRow, voucher_key: bytes) -> ClaimedCouponView:
    return ClaimedCouponView(row=row, qr_data=code_of(voucher_key, row.code_nonce))


def code_of(voucher_key: bytes, nonce: bytes) -> str:
    return vouchers.code_for(coupon_key(voucher_key), nonce)


def hash_of(voucher_key: bytes, code: str) -> bytes:
    return vouchers.code_hash(coupon_key(voucher_key), code)
