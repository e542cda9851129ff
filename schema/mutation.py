"""The root ``Mutation`` type: one module per mutation, each with its own result union."""

from __future__ import annotations

import strawberry

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
