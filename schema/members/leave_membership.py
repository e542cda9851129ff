"""``leaveMembership``: the signed-in customer leaves; only anonymous aggregates remain."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce.members import memberships
from schema.caller import int_id
from schema.types import ContextInfo


@strawberry.input(description="Which merchant's membership to leave.")
class LeaveMembershipInput:
    merchant_id: strawberry.ID = strawberry.field(description="The Merchant's global ID.")


async def resolve_leave_membership(
    info: ContextInfo,
    input: Annotated[
        LeaveMembershipInput, strawberry.argument(description="Which membership to leave.")
    ],
) -> bool:
    principal = info.context.require_viewer()
    merchant_id = int_id(input.merchant_id, "Merchant", "input.merchantId")
    return await memberships.leave(info.context.database, principal, merchant_id)
