"""``postReview``: a verified review by a customer who redeemed a voucher at the merchant."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.reviews import post_review
from schema.mutations.common import caller, int_id
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
    principal, loop = caller(info)
    merchant_id = int_id(input.merchant_id, "Merchant", "input.merchantId")
    outcome = await post_review(loop, principal, merchant_id, input.rating, input.text)
    if isinstance(outcome, outcomes.NotEligible):
        return NotEligible(message=outcome.message)
    return ReviewPosted(review=await _review(info, outcome.review_id))


async def _review(info: ContextInfo, review_id: int) -> Review:
    row = await info.context.loaders.review.load(review_id)
    assert row is not None
    return Review.from_row(row)
