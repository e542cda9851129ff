"""Union members shared by the merchant mutations (``StoreResult``, ``DealResult``,
``MerchantResult``): a stale ``expectedVersion`` and a role that may not act."""

from __future__ import annotations

import strawberry

from commerce import outcomes


@strawberry.type(
    description="expectedVersion is stale: it was changed by somebody else first; nothing"
    " was changed. Read it again and retry with currentVersion."
)
class VersionConflict:
    message: str = strawberry.field(description="What happened, for people.")
    current_version: int = strawberry.field(description="The version it has now.")

    @classmethod
    def of(cls, outcome: outcomes.VersionConflict) -> VersionConflict:
        return cls(message=outcome.message, current_version=outcome.current_version)


@strawberry.type(description="The caller's role may not do this; nothing was changed.")
class NotAllowed:
    message: str = strawberry.field(description="Which right is missing, for people.")

    @classmethod
    def of(cls, outcome: outcomes.NotAllowed) -> NotAllowed:
        return cls(message=outcome.message)
