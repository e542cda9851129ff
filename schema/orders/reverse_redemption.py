"""``reverseRedemption``: undo a mistaken scan within the window; the record stays as audit."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.orders.redemption import reverse_redemption
from schema.caller import caller_and_services, int_id
from schema.failures import Refusal, error_code
from schema.orders.types import Voucher
from schema.types import ContextInfo


@strawberry.input(description="Which redeemed voucher to give back to its owner, and why.")
class ReverseRedemptionInput:
    voucher_id: strawberry.ID = strawberry.field(
        description="Global ID of the Voucher (as in Redemption.voucherId)."
    )
    reason: str = strawberry.field(
        description="Why, 1 to 500 characters; kept on the Redemption as reversalReason."
    )


@strawberry.type(
    description="Undone: the voucher is ISSUED again and its Redemption shows reversedAt."
)
class RedemptionReversed:
    voucher: Voucher = strawberry.field(description="The voucher, ISSUED again.")


@strawberry.type(
    description="The redemption is older than the reversal window (10 minutes by default)."
)
class ReversalWindowClosed(Refusal):
    code: str = error_code("REVERSAL_WINDOW_CLOSED")


@strawberry.type(description="The voucher is not redeemed (never was, or already reversed).")
class VoucherNotRedeemed(Refusal):
    code: str = error_code("VOUCHER_NOT_REDEEMED")


ReverseRedemptionResult = Annotated[
    RedemptionReversed | ReversalWindowClosed | VoucherNotRedeemed,
    strawberry.union(
        "ReverseRedemptionResult",
        description="What reverseRedemption did: RedemptionReversed, or an Error member.",
    ),
]


async def resolve_reverse_redemption(
    info: ContextInfo,
    input: Annotated[
        ReverseRedemptionInput, strawberry.argument(description="Which redemption to undo.")
    ],
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
