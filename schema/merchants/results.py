"""Union members shared by the merchant mutations (``StoreResult``, ``DealResult``,
``MerchantResult``): a stale ``expectedVersion`` and a role that may not act. Both are
refusals: they implement ``Error`` (see ``schema.failures``)."""

from __future__ import annotations

import strawberry

from commerce import outcomes
from schema.failures import Refusal, error_code


@strawberry.type(
    description="expectedVersion is stale: it was changed by somebody else first; nothing"
    " was changed. Read it again and retry with currentVersion."
)
class VersionConflict(Refusal):
    code: str = error_code("VERSION_CONFLICT")
    current_version: int = strawberry.field(description="The version it has now.")

    @classmethod
    def of(cls, outcome: outcomes.VersionConflict) -> VersionConflict:
        return cls(message=outcome.message, current_version=outcome.current_version)


@strawberry.type(
    description="The caller's role may not do this (message names the missing right); nothing"
    " was changed."
)
class NotAllowed(Refusal):
    code: str = error_code("NOT_ALLOWED")

    @classmethod
    def of(cls, outcome: outcomes.NotAllowed) -> NotAllowed:
        return cls(message=outcome.message)
