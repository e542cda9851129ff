"""The ``Error`` interface of mutation results (Python name ``Refusal``, so that nothing
mistakes its members for exceptions): every member of a result union that says the
mutation was refused implements it, with its human ``message`` and a stable ``code``.

Successes do not implement it, nor do the members saying a payment is still under way
(``PaymentRequiresAction``, ``PaymentPending``): nothing was refused there. A client can
handle any refusal with ``... on Error { code message }`` and switch on ``code``.
"""

from __future__ import annotations

import strawberry


@strawberry.interface(
    name="Error",
    description="A mutation was refused for an expected reason; nothing was changed unless the "
    "member says otherwise. Switch on `code` (stable UPPER_SNAKE_CASE, one per member type); "
    "show `message` to people.",
)
class Refusal:
    message: str = strawberry.field(
        description="Why, in English, for people (may change; do not parse it)."
    )
    code: str = strawberry.field(
        description="Stable machine-readable reason: the member type's name in UPPER_SNAKE_CASE."
    )


def error_code(code: str) -> str:
    """The ``code`` field of one ``Error`` member: always ``code``."""
    value: str = strawberry.field(
        default=code,
        description=f"Always {code}: the member type's name in UPPER_SNAKE_CASE.",
    )
    return value
