"""``reverseCouponRedemption``: undo a mistaken coupon use within the reversal window (the
one of ``reverseRedemption``, 10 minutes by default); the record stays as audit.

A mutation of its own rather than an extension of ``reverseRedemption``: that one's input
names a Voucher and its success returns one; a coupon use is named by its ClaimedCoupon.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.coupons.redeeming import reverse_coupon_redemption
from schema.caller import caller_and_services, int_id
from schema.coupons.types import ClaimedCoupon, CouponRedemption
from schema.failures import Refusal, error_code
from schema.orders.reverse_redemption import ReversalWindowClosed
from schema.types import ContextInfo


@strawberry.input(description="Which used coupon to give back to its owner, and why.")
class ReverseCouponRedemptionInput:
    claimed_coupon_id: strawberry.ID = strawberry.field(
        description="Global ID of the ClaimedCoupon (CouponRedeemed.claimed.id)."
    )
    reason: str = strawberry.field(
        description="Why, 1 to 500 characters; kept on the redemption record."
    )


@strawberry.type(description="Undone: the coupon is ISSUED again, the record shows reversedAt.")
class CouponRedemptionReversed:
    claimed: ClaimedCoupon = strawberry.field(description="The claimed coupon, ISSUED again.")
    redemption: CouponRedemption = strawberry.field(description="The record, with reversedAt.")


@strawberry.type(description="The coupon is not used (never was, or already reversed).")
class CouponNotRedeemed(Refusal):
    code: str = error_code("COUPON_NOT_REDEEMED")


ReverseCouponRedemptionResult = Annotated[
    CouponRedemptionReversed | ReversalWindowClosed | CouponNotRedeemed,
    strawberry.union(
        "ReverseCouponRedemptionResult",
        description="What reverseCouponRedemption did: CouponRedemptionReversed, or an Error.",
    ),
]


async def resolve_reverse_coupon_redemption(
    info: ContextInfo,
    input: Annotated[
        ReverseCouponRedemptionInput, strawberry.argument(description="Which use to undo.")
    ],
) -> ReverseCouponRedemptionResult:
    principal, services = caller_and_services(info)
    claimed_id = int_id(input.claimed_coupon_id, "ClaimedCoupon", "input.claimedCouponId")
    database = info.context.database
    match await reverse_coupon_redemption(database, services, principal, claimed_id, input.reason):
        case outcomes.CouponRedemptionReversed(claimed, redemption):
            return CouponRedemptionReversed(
                claimed=ClaimedCoupon.from_view(claimed),
                redemption=CouponRedemption.from_row(redemption),
            )
        case outcomes.ReversalWindowClosed(message):
            return ReversalWindowClosed(message=message)
        case outcomes.CouponNotRedeemed(message):
            return CouponNotRedeemed(message=message)
