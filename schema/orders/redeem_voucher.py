"""``redeemVoucher``: merchant staff scan or type a code at one of their stores."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.orders.redemption import RedeemRequest, redeem_voucher
from schema.caller import caller_and_services, int_id
from schema.orders.types import Voucher
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
    principal, services = caller_and_services(info)
    request = RedeemRequest(
        code=input.code,
        store_id=int_id(input.store_id, "Store", "input.storeId"),
        idempotency_key=input.idempotency_key,
    )
    match await redeem_voucher(info.context.database, services, principal, request):
        case outcomes.VoucherRedeemed(voucher):
            info.context.loaders.voucher.prime(voucher.row.id, voucher.row)
            return VoucherRedeemed(voucher=Voucher.from_view(voucher))
        case outcomes.VoucherAlreadyRedeemed(message, redeemed_at):
            return VoucherAlreadyRedeemed(message=message, redeemed_at=redeemed_at)
        case outcomes.VoucherExpired(message):
            return VoucherExpired(message=message)
        case outcomes.VoucherNotValidHere(message):
            return VoucherNotValidHere(message=message)
        case outcomes.VoucherNotFound(message):
            return VoucherNotFound(message=message)
        case outcomes.VoucherRefunded(message):
            return VoucherRefunded(message=message)
