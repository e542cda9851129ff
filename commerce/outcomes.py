"""Outcomes of the order and review operations, each carrying the rows it holds.

Each class has the name of the GraphQL union member it becomes (``schema.graphql``), so an
outcome is known by one name from ``commerce/`` to the client. Successes carry the rows the
operation wrote (booking, payment, vouchers with their display codes, refund, review), so
the GraphQL layer reads nothing again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from commerce.coupons.codes import ClaimedCouponView
from commerce.orders.vouchers import VoucherView
from db.coupon_rows import CouponRedemptionRow, CouponRow
from db.order_rows import BookingRow, PaymentRow, RefundRow
from db.rows import DealRow, MerchantRow, ReviewRow, StoreRow


@dataclass(frozen=True, slots=True)
class BookDealSuccess:
    booking: BookingRow


@dataclass(frozen=True, slots=True)
class DealUnavailable:
    message: str


@dataclass(frozen=True, slots=True)
class SoldOut:
    message: str


@dataclass(frozen=True, slots=True)
class InvalidInput:
    message: str
    field: str


@dataclass(frozen=True, slots=True)
class PerUserLimitReached:
    message: str
    limit: int


BookOutcome = BookDealSuccess | DealUnavailable | SoldOut | InvalidInput | PerUserLimitReached
BOOK_OUTCOMES = (BookDealSuccess, DealUnavailable, SoldOut, InvalidInput, PerUserLimitReached)


@dataclass(frozen=True, slots=True)
class PaymentSucceeded:
    booking: BookingRow
    payment: PaymentRow
    vouchers: list[VoucherView]


@dataclass(frozen=True, slots=True)
class PaymentDeclined:
    message: str
    booking: BookingRow
    payment: PaymentRow


@dataclass(frozen=True, slots=True)
class PaymentRequiresAction:
    message: str
    next_action_url: str | None
    booking: BookingRow
    payment: PaymentRow


@dataclass(frozen=True, slots=True)
class PaymentPending:
    """The provider has not answered (unreachable, or busy with the same key)."""

    message: str
    booking: BookingRow
    payment: PaymentRow


@dataclass(frozen=True, slots=True)
class BookingNotPayable:
    message: str


PayOutcome = (
    PaymentSucceeded | PaymentDeclined | PaymentRequiresAction | PaymentPending | BookingNotPayable
)


@dataclass(frozen=True, slots=True)
class BookingCancelled:
    booking: BookingRow
    refund: RefundRow | None


@dataclass(frozen=True, slots=True)
class NotCancellable:
    message: str


CancelOutcome = BookingCancelled | NotCancellable


@dataclass(frozen=True, slots=True)
class VoucherRedeemed:
    voucher: VoucherView


@dataclass(frozen=True, slots=True)
class VoucherAlreadyRedeemed:
    message: str
    redeemed_at: datetime


@dataclass(frozen=True, slots=True)
class VoucherExpired:
    message: str


@dataclass(frozen=True, slots=True)
class VoucherNotValidHere:
    message: str


@dataclass(frozen=True, slots=True)
class VoucherNotFound:
    message: str


@dataclass(frozen=True, slots=True)
class VoucherRefunded:
    message: str


RedeemOutcome = (
    VoucherRedeemed
    | VoucherAlreadyRedeemed
    | VoucherExpired
    | VoucherNotValidHere
    | VoucherNotFound
    | VoucherRefunded
)
REDEEM_OUTCOMES = (
    VoucherRedeemed,
    VoucherAlreadyRedeemed,
    VoucherExpired,
    VoucherNotValidHere,
    VoucherNotFound,
    VoucherRefunded,
)


@dataclass(frozen=True, slots=True)
class RedemptionReversed:
    voucher: VoucherView


@dataclass(frozen=True, slots=True)
class ReversalWindowClosed:
    message: str


@dataclass(frozen=True, slots=True)
class VoucherNotRedeemed:
    message: str


ReverseOutcome = RedemptionReversed | ReversalWindowClosed | VoucherNotRedeemed


@dataclass(frozen=True, slots=True)
class ReviewPosted:
    review: ReviewRow


@dataclass(frozen=True, slots=True)
class NotEligible:
    message: str


PostReviewOutcome = ReviewPosted | NotEligible


@dataclass(frozen=True, slots=True)
class ReplyPosted:
    review: ReviewRow


@dataclass(frozen=True, slots=True)
class AlreadyReplied:
    message: str


ReplyOutcome = ReplyPosted | AlreadyReplied


# The merchant side (schema/merchants/): shared refusals first, then each operation's set.


@dataclass(frozen=True, slots=True)
class VersionConflict:
    """``expectedVersion`` is stale: somebody changed the thing first; nothing was changed."""

    message: str
    current_version: int


@dataclass(frozen=True, slots=True)
class NotAllowed:
    """The caller's role may not do this (a union member where the contract has one)."""

    message: str


@dataclass(frozen=True, slots=True)
class MerchantSaved:
    merchant: MerchantRow


MerchantOutcome = MerchantSaved | InvalidInput | NotAllowed


@dataclass(frozen=True, slots=True)
class StoreSaved:
    store: StoreRow


StoreOutcome = StoreSaved | InvalidInput | VersionConflict


@dataclass(frozen=True, slots=True)
class DealSaved:
    deal: DealRow


DealOutcome = DealSaved | InvalidInput | VersionConflict | NotAllowed
DEAL_OUTCOMES = (DealSaved, InvalidInput, VersionConflict, NotAllowed)


# --- Coupons (issue 14) -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CouponSaved:
    coupon: CouponRow


CouponOutcome = CouponSaved | InvalidInput | VersionConflict | NotAllowed


@dataclass(frozen=True, slots=True)
class CouponClaimed:
    claimed: ClaimedCouponView


@dataclass(frozen=True, slots=True)
class CouponSoldOut:
    message: str


@dataclass(frozen=True, slots=True)
class CouponNotForYou:
    message: str


ClaimCouponOutcome = CouponClaimed | CouponSoldOut | CouponNotForYou | PerUserLimitReached
CLAIM_COUPON_OUTCOMES = (CouponClaimed, CouponSoldOut, CouponNotForYou, PerUserLimitReached)


@dataclass(frozen=True, slots=True)
class CouponRedeemed:
    claimed: ClaimedCouponView
    redemption: CouponRedemptionRow
    free_item: str | None


@dataclass(frozen=True, slots=True)
class BillBelowMinimum:
    message: str
    min_bill: str  # decimal amount, in currency
    currency: str


@dataclass(frozen=True, slots=True)
class CouponAlreadyRedeemed:
    message: str
    redeemed_at: datetime


@dataclass(frozen=True, slots=True)
class CouponExpired:
    message: str


@dataclass(frozen=True, slots=True)
class CouponNotValidHere:
    message: str


@dataclass(frozen=True, slots=True)
class CouponNotFound:
    message: str


RedeemCouponOutcome = (
    CouponRedeemed
    | BillBelowMinimum
    | CouponAlreadyRedeemed
    | CouponExpired
    | CouponNotValidHere
    | CouponNotFound
)
REDEEM_COUPON_OUTCOMES = (
    CouponRedeemed,
    BillBelowMinimum,
    CouponAlreadyRedeemed,
    CouponExpired,
    CouponNotValidHere,
    CouponNotFound,
)


@dataclass(frozen=True, slots=True)
class CouponRedemptionReversed:
    claimed: ClaimedCouponView
    redemption: CouponRedemptionRow


@dataclass(frozen=True, slots=True)
class CouponNotRedeemed:
    message: str


ReverseCouponOutcome = CouponRedemptionReversed | ReversalWindowClosed | CouponNotRedeemed
