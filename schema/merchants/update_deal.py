"""``updateDeal``: change a deal's terms at the version the caller read (MANAGER and up)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeVar

import strawberry

from commerce.merchants.deals import DealChanges, update_deal
from commerce.merchants.stores import UNSET, Unset
from schema.caller import int_id
from schema.merchants.deals import DealResult, deal_result, money, store_ids
from schema.types import ContextInfo, MoneyInput

T = TypeVar("T")


@strawberry.input(
    description="Changes to a deal; a field left out stays as it is. Only the fields that say"
    " so may be null (null elsewhere is BAD_USER_INPUT); an ENDED deal cannot be changed."
)
class UpdateDealInput:
    deal_id: strawberry.ID = strawberry.field(description="The deal to change.")
    expected_version: int = strawberry.field(
        description="Deal.version as read; a stale one gets VersionConflict."
    )
    title: str | None = strawberry.field(default=strawberry.UNSET, description="A new title.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="A new description."
    )
    category_slug: str | None = strawberry.field(
        default=strawberry.UNSET, description="A new category; null: the merchant's."
    )
    price: MoneyInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="A new price; bookings already made keep the price they were made at.",
    )
    original_price: MoneyInput | None = strawberry.field(
        default=strawberry.UNSET, description="A new usual price; null clears it."
    )
    store_ids: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="The stores where it is valid, all of them."
    )
    sale_starts_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="A new start of the sale window."
    )
    sale_ends_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="A new end of the sale window."
    )
    voucher_valid_days: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Days a paid voucher stays valid; null: until the sale window ends.",
    )
    total_quantity: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Units in all, held and sold ones included; null: not limited.",
    )
    per_user_limit: int | None = strawberry.field(
        default=strawberry.UNSET, description="Units one customer may hold or buy."
    )
    requires_booking: bool | None = strawberry.field(
        default=strawberry.UNSET, description="Booked by time slot."
    )
    usage_rules: str | None = strawberry.field(
        default=strawberry.UNSET, description="How the voucher may be used; null clears it."
    )


def _kept(value: T | None) -> T | Unset | None:
    """UNSET when the field was left out, else its value (None included)."""
    return UNSET if value is strawberry.UNSET else value


async def resolve_update_deal(
    info: ContextInfo,
    input: Annotated[
        UpdateDealInput,
        strawberry.argument(description="The deal, the version read, and the fields to change."),
    ],
) -> DealResult:
    principal = info.context.require_viewer()
    price, original, stores = input.price, input.original_price, input.store_ids
    changes = DealChanges(
        deal_id=int_id(input.deal_id, "Deal", "input.dealId"),
        expected_version=input.expected_version,
        title=_kept(input.title),
        description=_kept(input.description),
        category_slug=_kept(input.category_slug),
        price=money(price) if isinstance(price, MoneyInput) else _kept(price),
        original_price=money(original) if isinstance(original, MoneyInput) else _kept(original),
        store_ids=store_ids(stores) if isinstance(stores, list) else _kept(stores),
        sale_starts_at=_kept(input.sale_starts_at),
        sale_ends_at=_kept(input.sale_ends_at),
        voucher_valid_days=_kept(input.voucher_valid_days),
        total_quantity=_kept(input.total_quantity),
        per_user_limit=_kept(input.per_user_limit),
        requires_booking=_kept(input.requires_booking),
        usage_rules=_kept(input.usage_rules),
    )
    outcome = await update_deal(info.context.database, principal, changes, info.context.now())
    return deal_result(info, outcome)
