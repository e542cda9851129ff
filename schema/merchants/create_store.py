"""``createStore``: a new store of the caller's merchant (MANAGER and up)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce.merchants.stores import StoreRequest, create_store
from schema.caller import int_id
from schema.discovery.inputs import GeoPointInput
from schema.merchants.stores import StoreResult, store_result
from schema.types import ContextInfo


@strawberry.input(description="A new store of a merchant.")
class CreateStoreInput:
    merchant_id: strawberry.ID = strawberry.field(description="The merchant it belongs to.")
    name: str = strawberry.field(description="Shown to customers (1 to 200 characters).")
    address: str | None = strawberry.field(default=None, description="Street address.")
    location: GeoPointInput = strawberry.field(description="Where the store is (WGS84).")
    time_zone: str | None = strawberry.field(
        default=None,
        description="IANA time zone (e.g. Europe/Helsinki); left out: derived from location.",
    )
    opening_hours: str | None = strawberry.field(
        default=None, description="OSM opening_hours, e.g. 'Mo-Fr 09:00-18:00; Sa 10:00-14:00'."
    )


async def resolve_create_store(
    info: ContextInfo,
    input: Annotated[
        CreateStoreInput,
        strawberry.argument(description="The new store and the merchant it belongs to."),
    ],
) -> StoreResult:
    principal = info.context.require_viewer()
    request = StoreRequest(
        merchant_id=int_id(input.merchant_id, "Merchant", "input.merchantId"),
        name=input.name,
        location=(input.location.lat, input.location.lng),
        address=input.address,
        time_zone=input.time_zone,
        opening_hours=input.opening_hours,
    )
    return store_result(info, await create_store(info.context.database, principal, request))
