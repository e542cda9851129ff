"""``reverseRedemption``: undo a mistaken scan within the window; the record stays as audit."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.orders.redemption import reverse_redemption
from schema.caller import caller_and_services, int_id
from schema.orders.types import Voucher
from schema.types import ContextInfo


@strawberry.input
class ReverseRedemptionInput:
    voucher_id: strawberry.ID
    reason: str


@strawberry.type
class RedemptionReversed:
    voucher: Voucher


@strawberry.type
class ReversalWindowClosed:
    message: str


@strawberry.type
class VoucherNotRedeemed:
    message: str


ReverseRedemptionResult = Annotated[
    RedemptionReversed | ReversalWindowClosed | VoucherNotRedeemed,
    strawberry.union("ReverseRedemptionResult"),
]


async def resolve_reverse_redemption(
    info: ContextInfo, input: ReverseRedemptionInput
) -> ReverseRedemptionResult:
    principal, services = caller_and_services(info)
    voucher_id = int_id(input.voucher_id, "Voucher", "input.voucherId")
    database = info.context.database
    match await reverse_redemption(database, services, principal, voucher_id, input.reason):
        case outcomes.RedemptionReversed(voucher):
            info.context.loaders.voucher.prime(voucher.row.id, voucher.row)
            return RedemptionReversed(voucher=Voucher.from_view(voucher))
        case outcomes.ReversalWindowClosed(message):
            return ReversalWindowClosed(message=message)
        case outcomes.VoucherNotRedeemed(message):
            return VoucherNotRedeemed(message=message)
