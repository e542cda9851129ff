"""``reverseRedemption``: undo a mistaken scan within the window; the record stays as audit."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.redemption import reverse_redemption
from schema.loop_types import Voucher
from schema.mutations.common import caller, int_id
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
    principal, loop = caller(info)
    voucher_id = int_id(input.voucher_id, "Voucher", "input.voucherId")
    match await reverse_redemption(loop, principal, voucher_id, input.reason):
        case outcomes.Reversed(reversed_id):
            row = await info.context.loop_loaders.voucher.load(reversed_id)
            assert row is not None
            return RedemptionReversed(voucher=Voucher.from_row(row, loop.config.voucher_key))
        case outcomes.WindowClosed(message):
            return ReversalWindowClosed(message=message)
        case outcomes.NotRedeemed(message):
            return VoucherNotRedeemed(message=message)
