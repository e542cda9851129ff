"""``replyToReview``: the reviewed merchant's staff answer a review, once."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.reviews import reply_to_review
from schema.caller import int_id
from schema.types import ContextInfo, Review


@strawberry.input
class ReplyToReviewInput:
    review_id: strawberry.ID
    text: str


@strawberry.type
class ReplyPosted:
    review: Review


@strawberry.type
class AlreadyReplied:
    message: str


ReplyToReviewResult = Annotated[
    ReplyPosted | AlreadyReplied, strawberry.union("ReplyToReviewResult")
]


async def resolve_reply_to_review(
    info: ContextInfo, input: ReplyToReviewInput
) -> ReplyToReviewResult:
    principal = info.context.require_viewer()
    review_id = int_id(input.review_id, "Review", "input.reviewId")
    match await reply_to_review(info.context.database, principal, review_id, input.text):
        case outcomes.ReplyPosted(review):
            info.context.loaders.review.prime(review.id, review)
            return ReplyPosted(review=Review.from_row(review))
        case outcomes.AlreadyReplied(message):
            return AlreadyReplied(message=message)
