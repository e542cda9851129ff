"""``redeemVoucher``: merchant staff scan or type a code at one of their stores."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.redemption import RedeemRequest, redeem_voucher
from schema.loop_types import Voucher
from schema.mutations.common import caller, int_id
from schema.types import ContextInfo


@strawberry.input
class RedeemVoucherInput:
    code: str = strawberry.field(description="As typed (any case, spaces and dashes allowed).")
    store_id: strawberry.ID
    idempotency_key: str


@strawberry.type
class VoucherRedeemed:
    voucher: Voucher


@strawberry.type
class VoucherAlreadyRedeemed:
    message: str
    redeemed_at: datetime


@strawberry.type
class VoucherExpired:
    message: str


@strawberry.type(description="Another merchant's voucher, or its deal is not valid at this store.")
class VoucherNotValidHere:
    message: str


@strawberry.type(description="No voucher has this code (or the check character is wrong).")
class VoucherNotFound:
    message: str


@strawberry.type(description="The voucher was refunded to the customer.")
class VoucherRefunded:
    message: str


RedeemVoucherResult = Annotated[
    VoucherRedeemed
    | VoucherAlreadyRedeemed
    | VoucherExpired
    | VoucherNotValidHere
    | VoucherNotFound
    | VoucherRefunded,
    strawberry.union("RedeemVoucherResult"),
]


async def resolve_redeem_voucher(
    info: ContextInfo, input: RedeemVoucherInput
) -> RedeemVoucherResult:
    principal, loop = caller(info)
    request = RedeemRequest(
        code=input.code,
        store_id=int_id(input.store_id, "Store", "input.storeId"),
        idempotency_key=input.idempotency_key,
    )
    match await redeem_voucher(loop, principal, request):
        case outcomes.Redeemed(voucher_id):
            row = await info.context.loop_loaders.voucher.load(voucher_id)
            assert row is not None
            return VoucherRedeemed(voucher=Voucher.from_row(row, loop.config.voucher_key))
        case outcomes.AlreadyRedeemed(message, redeemed_at):
            return VoucherAlreadyRedeemed(message=message, redeemed_at=redeemed_at)
        case outcomes.VoucherExpired(message):
            return VoucherExpired(message=message)
        case outcomes.NotValidHere(message):
            return VoucherNotValidHere(message=message)
        case outcomes.VoucherNotFound(message):
            return VoucherNotFound(message=message)
        case outcomes.VoucherRefunded(message):
            return VoucherRefunded(message=message)
