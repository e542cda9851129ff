"""``endDeal``: take a deal off sale for good (MANAGER and up); an ENDED deal cannot be
changed or published again. Vouchers already sold stay valid."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce.merchants.deals import move_deal
from domain.offer import DealStatus
from schema.caller import int_id
from schema.merchants.deals import DealResult, DealVersionInput, deal_result
from schema.types import ContextInfo


@strawberry.input(description="The deal to end, at the version the caller read.")
class EndDealInput(DealVersionInput):
    pass


async def resolve_end_deal(
    info: ContextInfo,
    input: Annotated[
        EndDealInput, strawberry.argument(description="The deal and the version read.")
    ],
) -> DealResult:
    principal = info.context.require_viewer()
    deal_id = int_id(input.deal_id, "Deal", "input.dealId")
    outcome = await move_deal(
        info.context.database,
        principal,
        deal_id,
        input.expected_version,
        DealStatus.ENDED,
        info.context.now(),
    )
    return deal_result(info, outcome)
