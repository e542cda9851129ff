"""``claimCoupon``: a signed-in customer takes one coupon into their wallet."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.coupons.claims import ClaimRequest, claim_coupon
from schema.caller import caller_and_services, int_id
from schema.coupons.types import ClaimedCoupon
from schema.failures import Refusal, error_code
from schema.orders.book_deal import PerUserLimitReached
from schema.types import ContextInfo


@strawberry.input(description="The coupon to claim, once per idempotencyKey.")
class ClaimCouponInput:
    coupon_id: strawberry.ID = strawberry.field(description="Global ID of the Coupon.")
    idempotency_key: str = strawberry.field(
        description="Client-chosen key of this claim; replaying it returns the first result."
    )
    attribution: str | None = strawberry.field(
        default=None,
        description="The coupon's attribution token from nearbyCoupons: the claim and its"
        " redemptions count for that channel and partner key in Merchant.insights. A"
        " missing, forged, stale or other coupon's token counts as DIRECT, never an error.",
    )


@strawberry.type(description="The coupon is in the wallet (me.coupons) with its own code.")
class CouponClaimed:
    claimed: ClaimedCoupon = strawberry.field(description="The claimed coupon.")


@strawberry.type(description="Every coupon of this campaign has been claimed.")
class CouponSoldOut(Refusal):
    code: str = error_code("COUPON_SOLD_OUT")


@strawberry.type(
    description="The coupon is not for this customer (members or a segment only), or not "
    "claimable now (not published, outside its validity)."
)
class CouponNotForYou(Refusal):
    code: str = error_code("COUPON_NOT_FOR_YOU")


ClaimCouponResult = Annotated[
    CouponClaimed | CouponSoldOut | CouponNotForYou | PerUserLimitReached,
    strawberry.union(
        "ClaimCouponResult",
        description="What claimCoupon did: CouponClaimed, or an Error member saying why not.",
    ),
]


async def resolve_claim_coupon(
    info: ContextInfo,
    input: Annotated[ClaimCouponInput, strawberry.argument(description="Which coupon.")],
) -> ClaimCouponResult:
    principal, services = caller_and_services(info)
    request = ClaimRequest(
        coupon_id=int_id(input.coupon_id, "Coupon", "input.couponId"),
        idempotency_key=input.idempotency_key,
        attribution=input.attribution,
        partner_key_id=info.context.partner_key_id,
    )
    database, now = info.context.database, info.context.now()
    match await claim_coupon(database, services, principal, request, now):
        case outcomes.CouponClaimed(claimed):
            return CouponClaimed(claimed=ClaimedCoupon.from_view(claimed))
        case outcomes.CouponSoldOut(message):
            return CouponSoldOut(message=message)
        case outcomes.CouponNotForYou(message):
            return CouponNotForYou(message=message)
        case outcomes.PerUserLimitReached(message, limit):
            return PerUserLimitReached(message=message, limit=limit)
