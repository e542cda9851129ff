"""``pauseDeal``: take a PUBLISHED deal off sale for now (MANAGER and up); it leaves every
discovery path as fast as it came, and bookDeal refuses it."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce.merchants.deals import move_deal
from domain.offer import DealStatus
from schema.caller import int_id
from schema.merchants.deals import DealResult, DealVersionInput, deal_result
from schema.types import ContextInfo


@strawberry.input(description="The deal to pause, at the version the caller read.")
class PauseDealInput(DealVersionInput):
    pass


async def resolve_pause_deal(
    info: ContextInfo,
    input: Annotated[
        PauseDealInput, strawberry.argument(description="The deal and the version read.")
    ],
) -> DealResult:
    principal = info.context.require_viewer()
    deal_id = int_id(input.deal_id, "Deal", "input.dealId")
    outcome = await move_deal(
        info.context.database,
        principal,
        deal_id,
        input.expected_version,
        DealStatus.PAUSED,
        info.context.now(),
    )
    return deal_result(info, outcome)
