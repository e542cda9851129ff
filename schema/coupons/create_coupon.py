"""``createCoupon``: a new DRAFT coupon campaign of the caller's merchant (MANAGER and up)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from commerce.coupons.campaigns import create_coupon
from commerce.coupons.terms import CouponTerms
from schema.caller import int_id
from schema.coupons.results import CouponResult, coupon_result
from schema.coupons.types import CouponAudience, CouponKind
from schema.merchants.deals import money, store_ids
from schema.types import ContextInfo, MoneyInput


@strawberry.input(description="A new coupon; it starts as a DRAFT that customers cannot see.")
class CreateCouponInput:
    merchant_id: strawberry.ID = strawberry.field(description="The merchant giving it.")
    title: str = strawberry.field(description="Shown to customers (1 to 200 characters).")
    kind: CouponKind = strawberry.field(description="What the coupon takes off.")
    value: str | None = strawberry.field(
        default=None,
        description="PERCENT_OFF: a percentage above 0, at most 100 (15); AMOUNT_OFF: an "
        "amount in currency (5.00); FREE_ITEM: the item (1 to 200 characters).",
    )
    currency: str | None = strawberry.field(
        default=None,
        description="Currency of an AMOUNT_OFF value and of minBill (default: minBill's).",
    )
    min_bill: MoneyInput | None = strawberry.field(
        default=None, description="The smallest bill it can be used on; null: any bill."
    )
    valid_from: datetime = strawberry.field(description="Claimable and usable from then.")
    valid_until: datetime = strawberry.field(
        description="Claimable and usable until then; claimed coupons expire then."
    )
    store_ids: list[strawberry.ID] = strawberry.field(
        description="The merchant's stores where it can be used (1 to 50)."
    )
    total_quantity: int | None = strawberry.field(
        default=None, description="Coupons to be claimed in all (0 to 1 000 000); null: no limit."
    )
    per_user_limit: int = strawberry.field(
        default=1, description="Claims one customer may make (1 to 100)."
    )
    audience: CouponAudience = strawberry.field(
        default=CouponAudience.EVERYONE, description="Who may claim it."
    )
    segment_id: strawberry.ID | None = strawberry.field(
        default=None, description="The merchant's Segment, for a SEGMENT audience."
    )


async def resolve_create_coupon(
    info: ContextInfo,
    input: Annotated[CreateCouponInput, strawberry.argument(description="The new coupon.")],
) -> CouponResult:
    principal = info.context.require_viewer()
    segment = input.segment_id
    terms = CouponTerms(
        title=input.title,
        kind=input.kind.value,
        value=input.value,
        currency=input.currency,
        min_bill=None if input.min_bill is None else money(input.min_bill),
        valid_from=input.valid_from,
        valid_until=input.valid_until,
        store_ids=store_ids(input.store_ids),
        total_quantity=input.total_quantity,
        per_user_limit=input.per_user_limit,
        audience=input.audience.value,
        segment_id=None if segment is None else int_id(segment, "Segment", "input.segmentId"),
    )
    merchant_id = int_id(input.merchant_id, "Merchant", "input.merchantId")
    outcome = await create_coupon(
        info.context.database, principal, merchant_id, terms, info.context.now()
    )
    return coupon_result(info, outcome)
