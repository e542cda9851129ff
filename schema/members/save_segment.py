"""``saveSegment``: the merchant's OWNER or MANAGER saves a member filter under a name."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce.members import crm
from schema.caller import int_id
from schema.members.types import MemberFilter, Segment
from schema.types import ContextInfo


@strawberry.input(description="A named member filter of a merchant.")
class SaveSegmentInput:
    merchant_id: strawberry.ID = strawberry.field(description="The Merchant's global ID.")
    name: str = strawberry.field(
        description="1 to 80 characters; saving an existing name replaces its filter."
    )
    filter: MemberFilter = strawberry.field(description="Which members belong.")


async def resolve_save_segment(
    info: ContextInfo,
    input: Annotated[SaveSegmentInput, strawberry.argument(description="The segment to save.")],
) -> Segment:
    principal = info.context.require_viewer()
    merchant_id = int_id(input.merchant_id, "Merchant", "input.merchantId")
    values = input.filter.values("input.filter")
    row = await crm.save_segment(info.context.database, principal, merchant_id, input.name, values)
    return Segment.from_row(row)
