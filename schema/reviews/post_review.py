"""``postReview``: a verified review by a customer who redeemed a voucher at the merchant."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.reviews import post_review
from schema.caller import int_id
from schema.types import ContextInfo, Review


@strawberry.input
class PostReviewInput:
    merchant_id: strawberry.ID
    rating: int
    text: str | None = None


@strawberry.type
class ReviewPosted:
    review: Review


@strawberry.type(description="No redeemed voucher at this merchant, or already reviewed it.")
class NotEligible:
    message: str


PostReviewResult = Annotated[ReviewPosted | NotEligible, strawberry.union("PostReviewResult")]


async def resolve_post_review(info: ContextInfo, input: PostReviewInput) -> PostReviewResult:
    principal = info.context.require_viewer()
    merchant_id = int_id(input.merchant_id, "Merchant", "input.merchantId")
    database = info.context.database
    match await post_review(database, principal, merchant_id, input.rating, input.text):
        case outcomes.ReviewPosted(review):
            info.context.loaders.review.prime(review.id, review)
            return ReviewPosted(review=Review.from_row(review))
        case outcomes.NotEligible(message):
            return NotEligible(message=message)
