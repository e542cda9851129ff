"""``StoreResult``, shared by ``createStore``, ``updateStore`` and ``setSpecialHours``."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from schema.merchants.results import VersionConflict
from schema.orders.book_deal import InvalidInput
from schema.types import ContextInfo, Store


@strawberry.type(description="The store as saved, with its new version.")
class StoreSaved:
    store: Store = strawberry.field(description="The store after the change.")


StoreResult = Annotated[
    StoreSaved | InvalidInput | VersionConflict,
    strawberry.union("StoreResult", description="A saved store, or why nothing was changed."),
]


def store_result(info: ContextInfo, outcome: outcomes.StoreOutcome) -> StoreResult:
    """The union member of an outcome; the saved row primes the store loader."""
    match outcome:
        case outcomes.StoreSaved(row):
            info.context.loaders.prime_stores([row])
            return StoreSaved(store=Store.from_row(row))
        case outcomes.InvalidInput(message, field):
            return InvalidInput(message=message, field=field)
        case outcomes.VersionConflict():
            return VersionConflict.of(outcome)
