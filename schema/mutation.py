"""The root ``Mutation`` type: one module per mutation, each with its own result union."""

from __future__ import annotations

import strawberry

from schema.coupons.claim_coupon import ClaimCouponResult, resolve_claim_coupon
from schema.coupons.create_coupon import resolve_create_coupon
from schema.coupons.issue_coupon import IssueCouponResult, resolve_issue_coupon
from schema.coupons.move_coupon import (
    resolve_end_coupon,
    resolve_pause_coupon,
    resolve_publish_coupon,
)
from schema.coupons.redeem_coupon import RedeemCouponResult, resolve_redeem_coupon
from schema.coupons.results import CouponResult
from schema.coupons.reverse_coupon_redemption import (
    ReverseCouponRedemptionResult,
    resolve_reverse_coupon_redemption,
)
from schema.coupons.update_coupon import resolve_update_coupon
from schema.members.accept_auto_join import resolve_accept_auto_join
from schema.members.join_membership import resolve_join_membership
from schema.members.leave_membership import resolve_leave_membership
from schema.members.save_segment import resolve_save_segment
from schema.members.set_membership_program import resolve_set_membership_program
from schema.members.types import Membership, MembershipProgram, Segment
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
    issue_coupon: IssueCouponResult = strawberry.mutation(
        resolver=resolve_issue_coupon,
        description="Merchant OWNER or MANAGER: put a PUBLISHED coupon into the wallet of"
        " every member of a saved segment, once per member (replays and repeats give nobody"
        " a second copy); each new entry is a walletUpdates event for its customer.",
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
    create_coupon: CouponResult = strawberry.mutation(
        resolver=resolve_create_coupon,
        description="Merchant staff (MANAGER and up): a new coupon campaign, as a DRAFT.",
    )
    update_coupon: CouponResult = strawberry.mutation(
        resolver=resolve_update_coupon,
        description="Merchant staff (MANAGER and up): change a coupon at the version read.",
    )
    publish_coupon: CouponResult = strawberry.mutation(
        resolver=resolve_publish_coupon,
        description="Merchant staff (MANAGER and up): open a DRAFT or PAUSED coupon to claims.",
    )
    pause_coupon: CouponResult = strawberry.mutation(
        resolver=resolve_pause_coupon,
        description="Merchant staff (MANAGER and up): stop new claims of a coupon for now.",
    )
    end_coupon: CouponResult = strawberry.mutation(
        resolver=resolve_end_coupon,
        description="Merchant staff (MANAGER and up): stop new claims for good (claimed "
        "coupons stay usable until validUntil).",
    )
    claim_coupon: ClaimCouponResult = strawberry.mutation(
        resolver=resolve_claim_coupon,
        description="Take one coupon into the signed-in customer's wallet (me.coupons).",
    )
    redeem_coupon: RedeemCouponResult = strawberry.mutation(
        resolver=resolve_redeem_coupon,
        description="Merchant staff: use a claimed coupon on a bill at one of their stores.",
    )
    reverse_coupon_redemption: ReverseCouponRedemptionResult = strawberry.mutation(
        resolver=resolve_reverse_coupon_redemption,
        description="Merchant staff: undo a mistaken coupon use within the reversal window.",
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
    join_membership: Membership = strawberry.mutation(
        resolver=resolve_join_membership,
        description="Join a merchant's membership (joining again returns the membership).",
    )
    leave_membership: bool = strawberry.mutation(
        resolver=resolve_leave_membership,
        description="Leave a merchant's membership: out of every member list, segment and"
        " count from now on; only anonymous totals remain. False when not a member.",
    )
    accept_auto_join: bool = strawberry.mutation(
        resolver=resolve_accept_auto_join,
        description="Accept (or withdraw) being made a member by the merchant's program on a"
        " redemption there; returns the answer saved.",
    )
    save_segment: Segment = strawberry.mutation(
        resolver=resolve_save_segment,
        description="Merchant OWNER or MANAGER: save a member filter under a name.",
    )
    set_membership_program: MembershipProgram = strawberry.mutation(
        resolver=resolve_set_membership_program,
        description="Merchant OWNER or MANAGER: auto-join, points per currency unit, tiers.",
    )
