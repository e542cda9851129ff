"""``setMembershipProgram``: the merchant's OWNER or MANAGER sets auto-join, the points rate
and the tiers."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce.members import memberships
from commerce.members.filters import money
from commerce.members.memberships import Tier
from schema.caller import int_id
from schema.members.types import MembershipProgram, MembershipTierInput
from schema.types import ContextInfo


@strawberry.input(description="A merchant's membership program (replaces the one saved).")
class SetMembershipProgramInput:
    merchant_id: strawberry.ID = strawberry.field(description="The Merchant's global ID.")
    auto_join: bool = strawberry.field(
        description="Enrol customers who accepted auto-join on their first redemption."
    )
    points_per_unit: str = strawberry.field(
        default="1",
        description="Points per currency unit spent: a decimal string, 0 to 1000, at most"
        " four places; points are rounded down per visit.",
    )
    tiers: list[MembershipTierInput] = strawberry.field(
        default_factory=list, description="At most 10 tiers with distinct names and minPoints."
    )


async def resolve_set_membership_program(
    info: ContextInfo,
    input: Annotated[
        SetMembershipProgramInput, strawberry.argument(description="The program to save.")
    ],
) -> MembershipProgram:
    principal = info.context.require_viewer()
    merchant_id = int_id(input.merchant_id, "Merchant", "input.merchantId")
    rate = money("input.pointsPerUnit", input.points_per_unit)
    tiers = [Tier(t.name, t.min_points) for t in input.tiers]
    row = await memberships.save_program(
        info.context.database, principal, merchant_id, input.auto_join, rate, tiers
    )
    return MembershipProgram.from_row(row)
