"""Outcomes of the loop's operations: each maps to one member of a mutation's result union."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Booked:
    booking_id: int


@dataclass(frozen=True, slots=True)
class DealUnavailable:
    message: str


@dataclass(frozen=True, slots=True)
class SoldOut:
    message: str


@dataclass(frozen=True, slots=True)
class InvalidBooking:
    message: str
    field: str


@dataclass(frozen=True, slots=True)
class PerUserLimitReached:
    message: str
    limit: int


BookOutcome = Booked | DealUnavailable | SoldOut | InvalidBooking | PerUserLimitReached
BOOK_OUTCOMES = (Booked, DealUnavailable, SoldOut, InvalidBooking, PerUserLimitReached)


@dataclass(frozen=True, slots=True)
class Paid:
    booking_id: int
    payment_id: int


@dataclass(frozen=True, slots=True)
class Declined:
    message: str
    booking_id: int
    payment_id: int


@dataclass(frozen=True, slots=True)
class ActionRequired:
    message: str
    booking_id: int
    payment_id: int
    next_action_url: str | None


@dataclass(frozen=True, slots=True)
class Processing:
    """The provider has not answered (unreachable, or busy with the same key)."""

    message: str
    booking_id: int
    payment_id: int


@dataclass(frozen=True, slots=True)
class NotPayable:
    message: str


PayOutcome = Paid | Declined | ActionRequired | Processing | NotPayable


@dataclass(frozen=True, slots=True)
class Cancelled:
    booking_id: int
    refund_id: int | None


@dataclass(frozen=True, slots=True)
class NotCancellable:
    message: str


CancelOutcome = Cancelled | NotCancellable


@dataclass(frozen=True, slots=True)
class Redeemed:
    voucher_id: int


@dataclass(frozen=True, slots=True)
class AlreadyRedeemed:
    message: str
    redeemed_at: datetime


@dataclass(frozen=True, slots=True)
class VoucherExpired:
    message: str


@dataclass(frozen=True, slots=True)
class NotValidHere:
    message: str


@dataclass(frozen=True, slots=True)
class VoucherNotFound:
    message: str


@dataclass(frozen=True, slots=True)
class VoucherRefunded:
    message: str


RedeemOutcome = (
    Redeemed | AlreadyRedeemed | VoucherExpired | NotValidHere | VoucherNotFound | VoucherRefunded
)
REDEEM_OUTCOMES = (
    Redeemed,
    AlreadyRedeemed,
    VoucherExpired,
    NotValidHere,
    VoucherNotFound,
    VoucherRefunded,
)


@dataclass(frozen=True, slots=True)
class Reversed:
    voucher_id: int


@dataclass(frozen=True, slots=True)
class WindowClosed:
    message: str


@dataclass(frozen=True, slots=True)
class NotRedeemed:
    message: str


ReverseOutcome = Reversed | WindowClosed | NotRedeemed


@dataclass(frozen=True, slots=True)
class ReviewPosted:
    review_id: int


@dataclass(frozen=True, slots=True)
class NotEligible:
    message: str


@dataclass(frozen=True, slots=True)
class Replied:
    review_id: int


@dataclass(frozen=True, slots=True)
class AlreadyReplied:
    message: str
