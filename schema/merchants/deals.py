"""``DealResult``, shared by every deal mutation (create, update, publish, pause, end, stock,
slots), and what their inputs share."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.merchants.deal_terms import MoneyValue
from schema.caller import int_id
from schema.merchants.results import NotAllowed, VersionConflict
from schema.orders.book_deal import InvalidInput
from schema.types import ContextInfo, Deal, MoneyInput


@strawberry.type(description="The deal as saved, with its new version.")
class DealSaved:
    deal: Deal = strawberry.field(description="The deal after the change.")


DealResult = Annotated[
    DealSaved | InvalidInput | VersionConflict | NotAllowed,
    strawberry.union("DealResult", description="A saved deal, or why nothing was changed."),
]


@strawberry.input(description="A deal's lifecycle step: which deal, at which version.")
class DealVersionInput:
    deal_id: strawberry.ID = strawberry.field(description="The deal to move.")
    expected_version: int = strawberry.field(
        description="Deal.version as read; a stale one gets VersionConflict."
    )


def money(value: MoneyInput) -> MoneyValue:
    return MoneyValue(amount=value.amount, currency=value.currency)


def store_ids(ids: list[strawberry.ID]) -> tuple[int, ...]:
    """The store IDs decoded; past the limit of 50 only one more is decoded, enough for
    ``commerce`` to refuse the list."""
    return tuple(int_id(store, "Store", "input.storeIds") for store in ids[:51])


def deal_result(info: ContextInfo, outcome: outcomes.DealOutcome) -> DealResult:
    """The union member of an outcome; the saved row primes the deal loader."""
    match outcome:
        case outcomes.DealSaved(row):
            info.context.loaders.prime_deals([row])
            return DealSaved(deal=Deal.from_row(row))
        case outcomes.InvalidInput(message, field):
            return InvalidInput(message=message, field=field)
        case outcomes.VersionConflict():
            return VersionConflict.of(outcome)
        case outcomes.NotAllowed():
            return NotAllowed.of(outcome)
