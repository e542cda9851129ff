"""What the mutation files share: the signed-in caller, the order services, ID decoding."""

from __future__ import annotations

import strawberry

from commerce.identity.principal import Principal
from commerce.orders.services import OrderServices
from schema.ids import parse_int_id
from schema.types import ContextInfo


def caller_and_services(info: ContextInfo) -> tuple[Principal, OrderServices]:
    """The signed-in caller (else ``UNAUTHENTICATED``) and the order services."""
    return info.context.require_viewer(), info.context.require_services()


def int_id(global_id: strawberry.ID | str, expected: str, argument: str) -> int:
    return parse_int_id(str(global_id), expected, argument)
