"""``adjustDealStock``: raise or lower a deal's units, exact while customers book it
(MANAGER and up); replaying the idempotency key returns the first result."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce.merchants.stock import StockAdjustment, adjust_deal_stock
from schema.caller import int_id
from schema.merchants.deals import DealResult, deal_result
from schema.types import ContextInfo


@strawberry.input(description="Units to add to (or, negative, take from) a limited deal.")
class AdjustDealStockInput:
    deal_id: strawberry.ID = strawberry.field(description="The deal whose stock changes.")
    delta: int = strawberry.field(
        description="Units to add, or take away when negative; the total moves with it, and"
        " the remaining units never go below zero."
    )
    reason: str = strawberry.field(description="Why, for the audit trail (1 to 500 characters).")
    idempotency_key: str = strawberry.field(
        description="Client-chosen; replaying it returns the first result and changes nothing."
    )


async def resolve_adjust_deal_stock(
    info: ContextInfo,
    input: Annotated[
        AdjustDealStockInput,
        strawberry.argument(
            description="The deal, the change of units, why, and the idempotency key."
        ),
    ],
) -> DealResult:
    principal = info.context.require_viewer()
    request = StockAdjustment(
        deal_id=int_id(input.deal_id, "Deal", "input.dealId"),
        delta=input.delta,
        reason=input.reason,
        idempotency_key=input.idempotency_key,
    )
    return deal_result(info, await adjust_deal_stock(info.context.database, principal, request))
