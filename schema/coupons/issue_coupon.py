"""``issueCoupon``: a coupon into the wallet of every member of a saved segment, once per
member (OWNER, MANAGER); the rules are in ``commerce/coupons/issuing.py``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import strawberry

from commerce.coupons.issuing import MAX_ISSUE_MEMBERS, IssueRequest, issue_coupon
from schema.caller import caller_and_services, int_id
from schema.types import ContextInfo


@strawberry.input(description="Which coupon goes to which saved segment.")
class IssueCouponInput:
    coupon_id: strawberry.ID = strawberry.field(
        description="A PUBLISHED coupon of the merchant, still valid."
    )
    segment_id: strawberry.ID = strawberry.field(
        description=f"A saved segment of the same merchant (at most {MAX_ISSUE_MEMBERS}"
        " members per issue)."
    )
    idempotency_key: str = strawberry.field(
        description="Client-chosen; replaying it returns the first result and issues nothing."
    )


@strawberry.type(description="What an issue did.")
class IssueCouponResult:
    issued: int = strawberry.field(
        description="New wallet entries: members who did not hold an issued copy of this"
        " coupon yet (each got a walletUpdates event)."
    )
    segment_size: int = strawberry.field(
        description="The segment's members when it ran (those already holding an issued copy"
        " were skipped)."
    )


async def resolve_issue_coupon(
    info: ContextInfo,
    input: Annotated[
        IssueCouponInput,
        strawberry.argument(
            description="The published coupon, the saved segment whose members receive it, and "
            "an idempotency key (a replay issues nothing more)."
        ),
    ],
) -> IssueCouponResult:
    principal, services = caller_and_services(info)
    request = IssueRequest(
        coupon_id=int_id(input.coupon_id, "Coupon", "input.couponId"),
        segment_id=int_id(input.segment_id, "Segment", "input.segmentId"),
        idempotency_key=input.idempotency_key,
    )
    found = await issue_coupon(
        info.context.database, services, principal, request, datetime.now(UTC)
    )
    return IssueCouponResult(issued=found.issued, segment_size=found.members)
