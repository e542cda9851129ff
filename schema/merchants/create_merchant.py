"""``createMerchant``: platform admins onboard a merchant (its owner is a token subject)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.merchants.merchants import MerchantRequest, create_merchant
from schema.merchants.results import NotAllowed
from schema.orders.book_deal import InvalidInput
from schema.types import ContextInfo, Merchant


@strawberry.input(description="A new merchant.")
class CreateMerchantInput:
    name: str = strawberry.field(description="Its registered name (1 to 200 characters).")
    category_slug: str = strawberry.field(description="Its category (see the categories query).")
    owner_subject: str | None = strawberry.field(
        default=None,
        description="Token subject of its owner, who signs in with staff_role owner.",
    )


@strawberry.type(description="The merchant as saved.")
class MerchantSaved:
    merchant: Merchant = strawberry.field(description="The new merchant.")


MerchantResult = Annotated[
    MerchantSaved | InvalidInput | NotAllowed,
    strawberry.union("MerchantResult", description="A new merchant, or why there is none."),
]


async def resolve_create_merchant(
    info: ContextInfo,
    input: Annotated[
        CreateMerchantInput,
        strawberry.argument(description="The merchant: name, category and owner."),
    ],
) -> MerchantResult:
    principal = info.context.require_viewer()
    request = MerchantRequest(input.name, input.category_slug, input.owner_subject)
    match await create_merchant(info.context.database, principal, request):
        case outcomes.MerchantSaved(row):
            info.context.loaders.prime_merchants([row])
            return MerchantSaved(merchant=Merchant.from_row(row))
        case outcomes.InvalidInput(message, field):
            return InvalidInput(message=message, field=field)
        case outcomes.NotAllowed(message):
            return NotAllowed(message=message)
