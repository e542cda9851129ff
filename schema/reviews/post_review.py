"""``postReview``: a verified review by a customer who redeemed a voucher at the merchant."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.reviews import post_review
from schema.caller import int_id
from schema.failures import Refusal, error_code
from schema.types import ContextInfo, Review


@strawberry.input(description="A review of a merchant where the caller redeemed a voucher.")
class PostReviewInput:
    merchant_id: strawberry.ID = strawberry.field(description="Global ID of the Merchant.")
    rating: int = strawberry.field(description="Stars, 1 to 5.")
    text: str | None = strawberry.field(
        default=None, description="At most 4000 characters; null or left out: no text."
    )


@strawberry.type(description="Posted: the review is public and verified.")
class ReviewPosted:
    review: Review = strawberry.field(description="The new review.")


@strawberry.type(
    description="The caller redeemed no voucher at this merchant, or already reviewed it."
)
class NotEligible(Refusal):
    code: str = error_code("NOT_ELIGIBLE")


PostReviewResult = Annotated[
    ReviewPosted | NotEligible,
    strawberry.union(
        "PostReviewResult",
        description="What postReview did: ReviewPosted, or NotEligible.",
    ),
]


async def resolve_post_review(
    info: ContextInfo,
    input: Annotated[PostReviewInput, strawberry.argument(description="The review.")],
) -> PostReviewResult:
    principal = info.context.require_viewer()
    merchant_id = int_id(input.merchant_id, "Merchant", "input.merchantId")
    database = info.context.database
    match await post_review(database, principal, merchant_id, input.rating, input.text):
        case outcomes.ReviewPosted(review):
            info.context.loaders.review.prime(review.id, review)
            return ReviewPosted(review=Review.from_row(review))
        case outcomes.NotEligible(message):
            return NotEligible(message=message)
