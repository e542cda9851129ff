"""The root ``Mutation`` type: one module per mutation, each with its own result union."""

from __future__ import annotations

import strawberry

from schema.merchants.adjust_deal_stock import resolve_adjust_deal_stock
from schema.merchants.create_deal import resolve_create_deal
from schema.merchants.create_merchant import MerchantResult, resolve_create_merchant
from schema.merchants.create_store import resolve_create_store
from schema.merchants.deals import DealResult
from schema.merchants.end_deal import resolve_end_deal
from schema.merchants.pause_deal import resolve_pause_deal
from schema.merchants.publish_deal import resolve_publish_deal
from schema.merchants.set_deal_slots import resolve_set_deal_slots
from schema.merchants.set_special_hours import resolve_set_special_hours
from schema.merchants.stores import StoreResult
from schema.merchants.update_deal import resolve_update_deal
from schema.merchants.update_store import resolve_update_store
from schema.orders.book_deal import BookDealResult, resolve_book_deal
from schema.orders.cancel_booking import CancelBookingResult, resolve_cancel_booking
from schema.orders.pay_booking import PayBookingResult, resolve_pay_booking
from schema.orders.redeem_voucher import RedeemVoucherResult, resolve_redeem_voucher
from schema.orders.reverse_redemption import (
    ReverseRedemptionResult,
    resolve_reverse_redemption,
)
from schema.reviews.post_review import PostReviewResult, resolve_post_review
from schema.reviews.reply_to_review import ReplyToReviewResult, resolve_reply_to_review


@strawberry.type(description="Everything here needs Authorization: Bearer <token>.")
class Mutation:
    book_deal: BookDealResult = strawberry.mutation(
        resolver=resolve_book_deal, description="Hold units of a deal until paid."
    )
    pay_booking: PayBookingResult = strawberry.mutation(
        resolver=resolve_pay_booking, description="Pay a HELD booking; vouchers on success."
    )
    cancel_booking: CancelBookingResult = strawberry.mutation(
        resolver=resolve_cancel_booking,
        description="Release a HELD booking or refund a paid one's unredeemed vouchers.",
    )
    redeem_voucher: RedeemVoucherResult = strawberry.mutation(
        resolver=resolve_redeem_voucher,
        description="Merchant staff: redeem a voucher code at one of their stores.",
    )
    reverse_redemption: ReverseRedemptionResult = strawberry.mutation(
        resolver=resolve_reverse_redemption,
        description="Merchant staff: undo a mistaken redemption within the window.",
    )
    post_review: PostReviewResult = strawberry.mutation(
        resolver=resolve_post_review, description="A verified review after a redemption."
    )
    reply_to_review: ReplyToReviewResult = strawberry.mutation(
        resolver=resolve_reply_to_review, description="Merchant staff: reply once to a review."
    )
    create_merchant: MerchantResult = strawberry.mutation(
        resolver=resolve_create_merchant,
        description="Platform admins: onboard a merchant (no stores or deals yet).",
    )
    create_store: StoreResult = strawberry.mutation(
        resolver=resolve_create_store,
        description="Merchant staff (MANAGER and up): open a store of their merchant.",
    )
    update_store: StoreResult = strawberry.mutation(
        resolver=resolve_update_store,
        description="Merchant staff (MANAGER and up): change a store at the version read.",
    )
    set_special_hours: StoreResult = strawberry.mutation(
        resolver=resolve_set_special_hours,
        description="Merchant staff (MANAGER and up): closed or other hours on one date.",
    )
    create_deal: DealResult = strawberry.mutation(
        resolver=resolve_create_deal,
        description="Merchant staff (MANAGER and up): a new deal, as a DRAFT.",
    )
    update_deal: DealResult = strawberry.mutation(
        resolver=resolve_update_deal,
        description="Merchant staff (MANAGER and up): change a deal at the version read.",
    )
    publish_deal: DealResult = strawberry.mutation(
        resolver=resolve_publish_deal,
        description="Merchant staff (MANAGER and up): put a DRAFT or PAUSED deal on sale.",
    )
    pause_deal: DealResult = strawberry.mutation(
        resolver=resolve_pause_deal,
        description="Merchant staff (MANAGER and up): take a PUBLISHED deal off sale for now.",
    )
    end_deal: DealResult = strawberry.mutation(
        resolver=resolve_end_deal,
        description="Merchant staff (MANAGER and up): take a deal off sale for good.",
    )
    adjust_deal_stock: DealResult = strawberry.mutation(
        resolver=resolve_adjust_deal_stock,
        description="Merchant staff (MANAGER and up): add or take units, exact under bookings.",
    )
    set_deal_slots: DealResult = strawberry.mutation(
        resolver=resolve_set_deal_slots,
        description="Merchant staff (MANAGER and up): the time slots of a deal booked by time.",
    )
