"""``acceptAutoJoin``: the signed-in customer accepts (or withdraws) being enrolled by a
merchant's program on their first redemption there."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce.members import memberships
from schema.caller import int_id
from schema.types import ContextInfo


@strawberry.input(description="A customer's answer to a merchant's auto-join.")
class AcceptAutoJoinInput:
    merchant_id: strawberry.ID = strawberry.field(description="The Merchant's global ID.")
    accept: bool = strawberry.field(
        default=True, description="True to accept, false to withdraw an earlier acceptance."
    )


async def resolve_accept_auto_join(
    info: ContextInfo,
    input: Annotated[
        AcceptAutoJoinInput, strawberry.argument(description="The merchant and the answer.")
    ],
) -> bool:
    principal = info.context.require_viewer()
    merchant_id = int_id(input.merchant_id, "Merchant", "input.merchantId")
    return await memberships.accept_auto_join(
        info.context.database, principal, merchant_id, input.accept
    )
