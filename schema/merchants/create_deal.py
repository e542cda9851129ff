"""``createDeal``: a new DRAFT deal of the caller's merchant (MANAGER and up)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from commerce.merchants.deal_terms import DealTerms
from commerce.merchants.deals import DealRequest, create_deal
from schema.caller import int_id
from schema.merchants.deals import DealResult, deal_result, money, store_ids
from schema.types import ContextInfo, MoneyInput


@strawberry.input(description="A new deal; it starts as a DRAFT that customers cannot see.")
class CreateDealInput:
    merchant_id: strawberry.ID = strawberry.field(description="The merchant selling it.")
    title: str = strawberry.field(description="Shown to customers (1 to 200 characters).")
    description: str | None = strawberry.field(
        default=None, description="What the customer gets (up to 5000 characters)."
    )
    category_slug: str = strawberry.field(description="The deal's category (Category.slug).")
    price: MoneyInput = strawberry.field(description="What the customer pays per unit.")
    original_price: MoneyInput | None = strawberry.field(
        default=None, description="The usual price, at least price, in the same currency."
    )
    store_ids: list[strawberry.ID] = strawberry.field(
        description="The merchant's stores where it is valid (1 to 50)."
    )
    sale_starts_at: datetime = strawberry.field(description="On sale from (Deal.validFrom).")
    sale_ends_at: datetime = strawberry.field(description="On sale until (Deal.validUntil).")
    voucher_valid_days: int = strawberry.field(
        description="Days a paid voucher stays valid (1 to 3650)."
    )
    total_quantity: int | None = strawberry.field(
        default=None, description="Units for sale (0 to 1 000 000); null: not limited."
    )
    per_user_limit: int | None = strawberry.field(
        default=None, description="Units one customer may hold or buy (1 to 100, default 1)."
    )
    requires_booking: bool = strawberry.field(
        default=False, description="Booked by time slot (set the slots with setDealSlots)."
    )
    usage_rules: str | None = strawberry.field(
        default=None, description="How the voucher may be used, in words (up to 2000)."
    )


async def resolve_create_deal(
    info: ContextInfo,
    input: Annotated[
        CreateDealInput,
        strawberry.argument(description="The deal's terms, as a DRAFT of the merchant merchantId."),
    ],
) -> DealResult:
    principal = info.context.require_viewer()
    request = DealRequest(
        merchant_id=int_id(input.merchant_id, "Merchant", "input.merchantId"),
        terms=DealTerms(
            title=input.title,
            description=input.description or "",
            category_slug=input.category_slug,
            price=money(input.price),
            original_price=None if input.original_price is None else money(input.original_price),
            store_ids=store_ids(input.store_ids),
            sale_starts_at=input.sale_starts_at,
            sale_ends_at=input.sale_ends_at,
            voucher_valid_days=input.voucher_valid_days,
            total_quantity=input.total_quantity,
            per_user_limit=1 if input.per_user_limit is None else input.per_user_limit,
            requires_booking=input.requires_booking,
            usage_rules=input.usage_rules,
        ),
    )
    outcome = await create_deal(info.context.database, principal, request, info.context.now())
    return deal_result(info, outcome)
