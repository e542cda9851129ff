"""``replyToReview``: the reviewed merchant's staff answer a review, once."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.reviews import reply_to_review
from schema.mutations.common import caller, int_id
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
    principal, loop = caller(info)
    review_id = int_id(input.review_id, "Review", "input.reviewId")
    outcome = await reply_to_review(loop, principal, review_id, input.text)
    if isinstance(outcome, outcomes.AlreadyReplied):
        return AlreadyReplied(message=outcome.message)
    row = await info.context.loaders.review.load(review_id)
    assert row is not None
    return ReplyPosted(review=Review.from_row(row))
