"""``joinMembership``: the signed-in customer joins a merchant's membership."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce.members import memberships
from schema.caller import int_id
from schema.members.types import Membership
from schema.types import ContextInfo


@strawberry.input(description="Which merchant's membership to join.")
class JoinMembershipInput:
    merchant_id: strawberry.ID = strawberry.field(description="The Merchant's global ID.")


async def resolve_join_membership(
    info: ContextInfo,
    input: Annotated[
        JoinMembershipInput, strawberry.argument(description="Which membership to join.")
    ],
) -> Membership:
    principal = info.context.require_viewer()
    merchant_id = int_id(input.merchant_id, "Merchant", "input.merchantId")
    row = await memberships.join(info.context.database, principal, merchant_id)
    return Membership.from_row(row)
