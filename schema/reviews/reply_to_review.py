"""``replyToReview``: the reviewed merchant's staff answer a review, once."""

from __future__ import annotations

from typing import Annotated

import strawberry

from commerce import outcomes
from commerce.reviews import reply_to_review
from schema.caller import int_id
from schema.failures import Refusal, error_code
from schema.types import ContextInfo, Review


@strawberry.input(description="The merchant's one public answer to a review.")
class ReplyToReviewInput:
    review_id: strawberry.ID = strawberry.field(description="Global ID of the Review.")
    text: str = strawberry.field(description="The reply, 1 to 4000 characters.")


@strawberry.type(description="Posted: the review shows the reply as merchantReply.")
class ReplyPosted:
    review: Review = strawberry.field(description="The review with its merchantReply.")


@strawberry.type(description="The review already has the merchant's reply (one per review).")
class AlreadyReplied(Refusal):
    code: str = error_code("ALREADY_REPLIED")


ReplyToReviewResult = Annotated[
    ReplyPosted | AlreadyReplied,
    strawberry.union(
        "ReplyToReviewResult",
        description="What replyToReview did: ReplyPosted, or AlreadyReplied.",
    ),
]


async def resolve_reply_to_review(
    info: ContextInfo,
    input: Annotated[ReplyToReviewInput, strawberry.argument(description="The reply.")],
) -> ReplyToReviewResult:
    principal = info.context.require_viewer()
    review_id = int_id(input.review_id, "Review", "input.reviewId")
    match await reply_to_review(info.context.database, principal, review_id, input.text):
        case outcomes.ReplyPosted(review):
            info.context.loaders.review.prime(review.id, review)
            return ReplyPosted(review=Review.from_row(review))
        case outcomes.AlreadyReplied(message):
            return AlreadyReplied(message=message)
