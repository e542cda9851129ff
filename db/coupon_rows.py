"""Typed rows of coupon campaigns, claimed coupons and coupon redemptions (migration 0013)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class CouponRow:
    id: int
    merchant_id: int
    title: str
    kind: str  # PERCENT_OFF, AMOUNT_OFF, FREE_ITEM
    percent_off: Decimal | None
    amount_off: Decimal | None
    free_item: str | None
    currency: str | None
    min_bill: Decimal | None
    valid_from: datetime
    valid_until: datetime
    total_quantity: int | None
    remaining_quantity: int | None
    per_user_limit: int
    audience: str  # EVERYONE, MEMBERS, SEGMENT
    segment_id: int | None
    platform_funded: bool
    status: str
    version: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ClaimedCouponRow:
    id: int
    coupon_id: int
    merchant_id: int
    user_id: str
    code_nonce: bytes
    status: str  # ISSUED, REDEEMED, EXPIRED
    valid_until: datetime
    claimed_at: datetime
    source: str  # CLAIM, ISSUE


@dataclass(frozen=True, slots=True)
class CouponRedemptionRow:
    id: int
    claimed_coupon_id: int
    coupon_id: int
    merchant_id: int
    store_id: int
    staff_id: str
    bill_amount: Decimal
    discount: Decimal
    payable: Decimal
    currency: str
    redeemed_at: datetime
    reversed_at: datetime | None
