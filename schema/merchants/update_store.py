"""``updateStore``: change a store's details at the version the caller read (MANAGER and up)."""

from __future__ import annotations

from typing import Annotated, TypeVar

import strawberry

from commerce.errors import UserInputError
from commerce.merchants.stores import UNSET, StoreChanges, Unset, update_store
from schema.caller import int_id
from schema.discovery.inputs import GeoPointInput
from schema.merchants.stores import StoreResult, store_result
from schema.types import ContextInfo

T = TypeVar("T")


@strawberry.input(
    description="Changes to a store; a field left out stays as it is. name and location may"
    " not be null (BAD_USER_INPUT); the others say what null does."
)
class UpdateStoreInput:
    store_id: strawberry.ID = strawberry.field(description="The store to change.")
    expected_version: int = strawberry.field(
        description="Store.version as read; a stale one gets VersionConflict."
    )
    name: str | None = strawberry.field(default=strawberry.UNSET, description="A new name.")
    address: str | None = strawberry.field(
        default=strawberry.UNSET, description="A new address; null clears it."
    )
    location: GeoPointInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="A new place; without timeZone, the zone is derived from it again.",
    )
    time_zone: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="IANA time zone; null: derive it from the location.",
    )
    opening_hours: str | None = strawberry.field(
        default=strawberry.UNSET, description="OSM opening_hours; null: no published hours."
    )


def _given(value: T | None, argument: str) -> T:
    """A field that may be left out but not set to null."""
    if value is None:
        raise UserInputError(argument, f"{argument} cannot be null; leave it out to keep it")
    return value


def _point(value: GeoPointInput | None) -> tuple[float, float] | Unset:
    if value is strawberry.UNSET:
        return UNSET
    point = _given(value, "input.location")
    return (point.lat, point.lng)


async def resolve_update_store(
    info: ContextInfo,
    input: Annotated[
        UpdateStoreInput,
        strawberry.argument(description="The store, the version read, and the fields to change."),
    ],
) -> StoreResult:
    principal = info.context.require_viewer()
    changes = StoreChanges(
        store_id=int_id(input.store_id, "Store", "input.storeId"),
        expected_version=input.expected_version,
        name=UNSET if input.name is strawberry.UNSET else _given(input.name, "input.name"),
        address=UNSET if input.address is strawberry.UNSET else input.address,
        location=_point(input.location),
        time_zone=UNSET if input.time_zone is strawberry.UNSET else input.time_zone,
        opening_hours=UNSET if input.opening_hours is strawberry.UNSET else input.opening_hours,
    )
    return store_result(info, await update_store(info.context.database, principal, changes))
