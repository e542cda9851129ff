"""What the mutation files share: the caller, the loop services, ID decoding."""

from __future__ import annotations

import strawberry

from commerce.loop import Loop
from commerce.principal import Principal
from schema.ids import parse_int_id
from schema.types import ContextInfo


def caller(info: ContextInfo) -> tuple[Principal, Loop]:
    """The signed-in caller (else ``UNAUTHENTICATED``) and the loop services."""
    return info.context.require_viewer(), info.context.require_loop()


def int_id(global_id: strawberry.ID | str, expected: str, argument: str) -> int:
    return parse_int_id(str(global_id), expected, argument)
