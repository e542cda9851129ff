"""``publishCoupon``, ``pauseCoupon`` and ``endCoupon``: one lifecycle step of a coupon at
the version the caller read (MANAGER and up); the same moves as deals."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce.coupons.campaigns import move_coupon
from domain.offer import DealStatus
from schema.caller import int_id
from schema.coupons.results import CouponResult, CouponVersionInput, coupon_result
from schema.types import ContextInfo


@strawberry.input(description="The coupon to publish, pause or end, at the version read.")
class CouponMoveInput(CouponVersionInput):
    pass


MoveArgument = Annotated[
    CouponMoveInput, strawberry.argument(description="Which coupon, at which version.")
]


async def _move(info: ContextInfo, input: CouponMoveInput, target: DealStatus) -> CouponResult:
    principal = info.context.require_viewer()
    coupon_id = int_id(input.coupon_id, "Coupon", "input.couponId")
    outcome = await move_coupon(
        info.context.database,
        principal,
        coupon_id,
        input.expected_version,
        target,
        info.context.now(),
    )
    return coupon_result(info, outcome)


async def resolve_publish_coupon(info: ContextInfo, input: MoveArgument) -> CouponResult:
    return await _move(info, input, DealStatus.PUBLISHED)


async def resolve_pause_coupon(info: ContextInfo, input: MoveArgument) -> CouponResult:
    return await _move(info, input, DealStatus.PAUSED)


async def resolve_end_coupon(info: ContextInfo, input: MoveArgument) -> CouponResult:
    return await _move(info, input, DealStatus.ENDED)
