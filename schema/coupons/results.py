"""``CouponResult``, shared by the coupon campaign mutations (create, update, publish, pause,
end), and what their inputs share."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from schema.coupons.types import Coupon
from schema.merchants.results import NotAllowed, VersionConflict
from schema.orders.book_deal import InvalidInput
from schema.types import ContextInfo


@strawberry.type(description="The coupon as saved, with its new version.")
class CouponSaved:
    coupon: Coupon = strawberry.field(description="The coupon after the change.")


CouponResult = Annotated[
    CouponSaved | InvalidInput | VersionConflict | NotAllowed,
    strawberry.union("CouponResult", description="A saved coupon, or why nothing was changed."),
]


@strawberry.input(description="A coupon's lifecycle step: which coupon, at which version.")
class CouponVersionInput:
    coupon_id: strawberry.ID = strawberry.field(description="The coupon to move.")
    expected_version: int = strawberry.field(
        description="Coupon.version as read; a stale one gets VersionConflict."
    )


def coupon_result(info: ContextInfo, outcome: outcomes.CouponOutcome) -> CouponResult:
    """The union member of an outcome; the saved row primes the coupon loader."""
    match outcome:
        case outcomes.CouponSaved(row):
            info.context.loaders.coupon.prime(row.id, row)
            return CouponSaved(coupon=Coupon.from_row(row))
        case outcomes.InvalidInput(message, field):
            return InvalidInput(message=message, field=field)
        case outcomes.VersionConflict():
            return VersionConflict.of(outcome)
        case outcomes.NotAllowed():
            return NotAllowed.of(outcome)
