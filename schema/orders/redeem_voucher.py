"""``redeemVoucher``: merchant staff scan or type a code at one of their stores."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.orders.redemption import RedeemRequest, redeem_voucher
from schema.caller import caller_and_services, int_id
from schema.failures import Refusal, error_code
from schema.orders.types import Voucher
from schema.types import ContextInfo


@strawberry.input(description="A voucher code scanned or typed at one of the staff's stores.")
class RedeemVoucherInput:
    code: str = strawberry.field(
        description="As scanned or typed: any case, spaces and dashes allowed, at most 64 "
        "characters."
    )
    store_id: strawberry.ID = strawberry.field(
        description="Global ID of the Store where the customer is (of the staff's merchant)."
    )
    idempotency_key: str = strawberry.field(
        description="Client-chosen key of this scan; replaying it returns the first result."
    )


@strawberry.type(description="Redeemed now: hand over what the deal promises.")
class VoucherRedeemed:
    voucher: Voucher = strawberry.field(
        description="The voucher, REDEEMED, with redeemedAt and redeemedAtStore."
    )


@strawberry.type(description="This voucher was redeemed before: do not hand anything over.")
class VoucherAlreadyRedeemed(Refusal):
    code: str = error_code("VOUCHER_ALREADY_REDEEMED")
    redeemed_at: datetime = strawberry.field(description="When it was redeemed.")


@strawberry.type(description="The voucher's validUntil has passed unredeemed.")
class VoucherExpired(Refusal):
    code: str = error_code("VOUCHER_EXPIRED")


@strawberry.type(description="Another merchant's voucher, or its deal is not valid at this store.")
class VoucherNotValidHere(Refusal):
    code: str = error_code("VOUCHER_NOT_VALID_HERE")


@strawberry.type(description="No voucher has this code (or the check character is wrong).")
class VoucherNotFound(Refusal):
    code: str = error_code("VOUCHER_NOT_FOUND")


@strawberry.type(description="The voucher was refunded to the customer (booking cancelled).")
class VoucherRefunded(Refusal):
    code: str = error_code("VOUCHER_REFUNDED")


RedeemVoucherResult = Annotated[
    VoucherRedeemed
    | VoucherAlreadyRedeemed
    | VoucherExpired
    | VoucherNotValidHere
    | VoucherNotFound
    | VoucherRefunded,
    strawberry.union(
        "RedeemVoucherResult",
        description="What redeemVoucher did: VoucherRedeemed, or an Error member saying why not.",
    ),
]


async def resolve_redeem_voucher(
    info: ContextInfo,
    input: Annotated[
        RedeemVoucherInput, strawberry.argument(description="The code and where it is redeemed.")
    ],
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
