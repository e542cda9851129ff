"""Typed rows of the order tables (bookings, payments, refunds, vouchers, redemptions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class DealForBooking:
    """The deal row as ``bookDeal`` sees it under its row lock, with the database clock."""

    id: int
    merchant_id: int
    price: Decimal
    currency: str
    valid_from: datetime
    valid_until: datetime
    remaining_quantity: int | None
    per_user_limit: int
    requires_booking: bool
    status: str
    now: datetime


@dataclass(frozen=True, slots=True)
class BookingRow:
    id: int
    user_id: str
    deal_id: int
    store_id: int | None
    quantity: int
    unit_price: Decimal
    total_price: Decimal
    currency: str
    status: str
    slot_start: datetime | None
    hold_expires_at: datetime
    created_at: datetime
    cancel_reason: str | None


@dataclass(frozen=True, slots=True)
class PaymentRow:
    id: int
    booking_id: int
    user_id: str
    idempotency_key: str
    fingerprint: str
    provider: str
    provider_payment_id: str | None
    provider_idempotency_key: str
    payment_method: str
    status: str
    currency: str
    amount: Decimal
    amount_authorized: Decimal
    amount_captured: Decimal
    amount_refunded: Decimal
    failure_message: str | None
    next_action_url: str | None
    return_url: str | None


@dataclass(frozen=True, slots=True)
class RefundRow:
    id: int
    payment_id: int
    booking_id: int
    amount: Decimal
    currency: str
    status: str
    provider_idempotency_key: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class VoucherRow:
    id: int
    booking_id: int
    unit_index: int
    user_id: str
    deal_id: int
    merchant_id: int
    code_nonce: bytes
    status: str
    unit_price: Decimal
    valid_until: datetime
    redeemed_at: datetime | None
    redeemed_store_id: int | None


@dataclass(frozen=True, slots=True)
class RedemptionRow:
    id: int
    voucher_id: int
    store_id: int
    staff_id: str
    redeemed_at: datetime
    reversed_at: datetime | None


@dataclass(frozen=True, slots=True)
class MerchantRedemptionRow:
    id: int
    voucher_id: int
    store_id: int
    staff_id: str
    redeemed_at: datetime
    reversed_at: datetime | None
    reversed_by: str | None
    reversal_reason: str | None
    deal_id: int
    merchant_id: int
