"""``redeemCoupon``: store staff use a claimed coupon on a bill at one of their stores."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.coupons.redeeming import RedeemCouponRequest, redeem_coupon
from schema.caller import caller_and_services, int_id
from schema.coupons.types import ClaimedCoupon, CouponRedemption
from schema.failures import Refusal, error_code
from schema.merchants.deals import money
from schema.types import ContextInfo, Money, MoneyInput


@strawberry.input(description="A coupon code scanned or typed at the till, and the bill.")
class RedeemCouponInput:
    code: str = strawberry.field(
        description="As scanned or typed: any case, spaces and dashes allowed, at most 64 "
        "characters."
    )
    store_id: strawberry.ID = strawberry.field(
        description="Global ID of the Store where the customer pays (of the staff's merchant)."
    )
    bill_amount: MoneyInput = strawberry.field(
        description="The bill before the discount, in the coupon's currency (whole units for "
        "currencies without cents)."
    )
    idempotency_key: str = strawberry.field(
        description="Client-chosen key of this scan; replaying it returns the first result."
    )


@strawberry.type(description="Used now: take payable, hand over a FREE_ITEM coupon's item.")
class CouponRedeemed:
    claimed: ClaimedCoupon = strawberry.field(description="The claimed coupon, REDEEMED.")
    redemption: CouponRedemption = strawberry.field(
        description="The record: bill, discount, payable, store and time."
    )
    discount: Money = strawberry.field(
        description="Taken off the bill: exact, rounded half up to the currency's minor unit."
    )
    payable: Money = strawberry.field(description="What the customer pays: bill - discount.")
    free_item: str | None = strawberry.field(
        description="A FREE_ITEM coupon's item to hand over; null for the other kinds."
    )


@strawberry.type(description="The bill is below the coupon's minimum; nothing was used.")
class BillBelowMinimum(Refusal):
    code: str = error_code("BILL_BELOW_MINIMUM")
    min_bill: Money = strawberry.field(description="The smallest bill the coupon takes.")


@strawberry.type(description="This coupon was used before: give no discount.")
class CouponAlreadyRedeemed(Refusal):
    code: str = error_code("COUPON_ALREADY_REDEEMED")
    redeemed_at: datetime = strawberry.field(description="When it was used.")


@strawberry.type(description="The claimed coupon's validUntil has passed unused.")
class CouponExpired(Refusal):
    code: str = error_code("COUPON_EXPIRED")


@strawberry.type(
    description="Another merchant's coupon, not valid at this store, or not valid yet."
)
class CouponNotValidHere(Refusal):
    code: str = error_code("COUPON_NOT_VALID_HERE")


@strawberry.type(description="No claimed coupon has this code (or the check character is wrong).")
class CouponNotFound(Refusal):
    code: str = error_code("COUPON_NOT_FOUND")


RedeemCouponResult = Annotated[
    CouponRedeemed
    | BillBelowMinimum
    | CouponAlreadyRedeemed
    | CouponExpired
    | CouponNotValidHere
    | CouponNotFound,
    strawberry.union(
        "RedeemCouponResult",
        description="What redeemCoupon did: CouponRedeemed, or an Error member saying why not.",
    ),
]


async def resolve_redeem_coupon(
    info: ContextInfo,
    input: Annotated[
        RedeemCouponInput, strawberry.argument(description="The code, the store and the bill.")
    ],
) -> RedeemCouponResult:
    principal, services = caller_and_services(info)
    request = RedeemCouponRequest(
        code=input.code,
        store_id=int_id(input.store_id, "Store", "input.storeId"),
        bill=money(input.bill_amount),
        idempotency_key=input.idempotency_key,
    )
    database, now = info.context.database, info.context.now()
    match await redeem_coupon(database, services, principal, request, now):
        case outcomes.CouponRedeemed(claimed, redemption, free_item):
            row = redemption
            return CouponRedeemed(
                claimed=ClaimedCoupon.from_view(claimed),
                redemption=CouponRedemption.from_row(row),
                discount=Money.of(row.discount, row.currency),
                payable=Money.of(row.payable, row.currency),
                free_item=free_item,
            )
        case outcomes.BillBelowMinimum(message, min_bill, currency):
            return BillBelowMinimum(
                message=message, min_bill=Money(amount=min_bill, currency=currency)
            )
        case outcomes.CouponAlreadyRedeemed(message, redeemed_at):
            return CouponAlreadyRedeemed(message=message, redeemed_at=redeemed_at)
        case outcomes.CouponExpired(message):
            return CouponExpired(message=message)
        case outcomes.CouponNotValidHere(message):
            return CouponNotValidHere(message=message)
        case outcomes.CouponNotFound(message):
            return CouponNotFound(message=message)
