"""``publishDeal``: put a DRAFT or PAUSED deal on sale (MANAGER and up); nearby, search,
the map and tiles find it once the search outbox is published (within seconds)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce.merchants.deals import move_deal
from domain.offer import DealStatus
from schema.caller import int_id
from schema.merchants.deals import DealResult, DealVersionInput, deal_result
from schema.types import ContextInfo


@strawberry.input(description="The deal to publish, at the version the caller read.")
class PublishDealInput(DealVersionInput):
    pass


async def resolve_publish_deal(
    info: ContextInfo,
    input: Annotated[
        PublishDealInput, strawberry.argument(description="The deal and the version read.")
    ],
) -> DealResult:
    principal = info.context.require_viewer()
    deal_id = int_id(input.deal_id, "Deal", "input.dealId")
    outcome = await move_deal(
        info.context.database,
        principal,
        deal_id,
        input.expected_version,
        DealStatus.PUBLISHED,
        info.context.now(),
    )
    return deal_result(info, outcome)
