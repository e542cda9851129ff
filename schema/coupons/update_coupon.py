"""``updateCoupon``: change a coupon's terms at the version the caller read (MANAGER and up)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeVar

import strawberry

from commerce.coupons.campaigns import CouponChanges, update_coupon
from commerce.merchants.stores import UNSET, Unset
from schema.caller import int_id
from schema.coupons.results import CouponResult, coupon_result
from schema.coupons.types import CouponAudience, CouponKind
from schema.merchants.deals import money, store_ids
from schema.types import ContextInfo, MoneyInput

T = TypeVar("T")


@strawberry.input(description="Changes to a coupon; a field left out stays as it is.")
class UpdateCouponInput:
    coupon_id: strawberry.ID = strawberry.field(description="The coupon to change.")
    expected_version: int = strawberry.field(
        description="Coupon.version as read; a stale one gets VersionConflict."
    )
    title: str | None = strawberry.field(default=strawberry.UNSET, description="A new title.")
    kind: CouponKind | None = strawberry.field(
        default=strawberry.UNSET, description="A new kind (give value with it)."
    )
    value: str | None = strawberry.field(
        default=strawberry.UNSET, description="A new value for the kind."
    )
    currency: str | None = strawberry.field(
        default=strawberry.UNSET, description="A new currency of value and minBill."
    )
    min_bill: MoneyInput | None = strawberry.field(
        default=strawberry.UNSET, description="A new minimum bill; null: any bill."
    )
    valid_from: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="A new start of validity."
    )
    valid_until: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="A new end of validity (coupons claimed before keep theirs).",
    )
    store_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="The stores where it can be used, all of them."
    )
    total_quantity: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Coupons in all, claimed ones included; null: not limited.",
    )
    per_user_limit: int | None = strawberry.field(
        default=strawberry.UNSET, description="Claims one customer may make."
    )
    audience: CouponAudience | None = strawberry.field(
        default=strawberry.UNSET, description="Who may claim it from now on."
    )
    segment_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="The Segment of a SEGMENT audience."
    )


def _kept(value: T | None) -> T | Unset | None:
    """UNSET when the field was left out, else its value (None included)."""
    return UNSET if value is strawberry.UNSET else value


async def resolve_update_coupon(
    info: ContextInfo,
    input: Annotated[UpdateCouponInput, strawberry.argument(description="What to change.")],
) -> CouponResult:
    principal = info.context.require_viewer()
    kind, audience, bill = input.kind, input.audience, input.min_bill
    stores, segment = input.store_ids, input.segment_id
    changes = CouponChanges(
        coupon_id=int_id(input.coupon_id, "Coupon", "input.couponId"),
        expected_version=input.expected_version,
        title=_kept(input.title),
        kind=kind.value if isinstance(kind, CouponKind) else _kept(kind),
        value=_kept(input.value),
        currency=_kept(input.currency),
        min_bill=money(bill) if isinstance(bill, MoneyInput) else _kept(bill),
        valid_from=_kept(input.valid_from),
        valid_until=_kept(input.valid_until),
        store_ids=store_ids(stores) if isinstance(stores, list) else _kept(stores),
        total_quantity=_kept(input.total_quantity),
        per_user_limit=_kept(input.per_user_limit),
        audience=audience.value if isinstance(audience, CouponAudience) else _kept(audience),
        segment_id=int_id(segment, "Segment", "input.segmentId")
        if isinstance(segment, str)
        else _kept(segment),
    )
    outcome = await update_coupon(info.context.database, principal, changes, info.context.now())
    return coupon_result(info, outcome)
