"""Verified reviews: only customers who redeemed a voucher at the merchant, once each;
merchant staff may reply once. Also the reviews a user wrote, for ``me.reviews``."""

from __future__ import annotations

from commerce.errors import NotFoundError, UserInputError
from commerce.identity.principal import Principal
from commerce.keyset import KeysetPage, page_of
from commerce.merchants import audit
from commerce.outcomes import (
    AlreadyReplied,
    NotEligible,
    PostReviewOutcome,
    ReplyOutcome,
    ReplyPosted,
    ReviewPosted,
)
from db import catalog_sql, reviews_sql, vouchers_sql
from db.database import Database
from db.reviews_sql import NewReview
from db.rows import ReviewRow

MAX_TEXT = 4000
DEFAULT_AUTHOR = "Verified customer"


async def post_review(
    database: Database, principal: Principal, merchant_id: int, rating: int, text: str | None
) -> PostReviewOutcome:
    if not 1 <= rating <= 5:
        raise UserInputError("input.rating", "rating must be between 1 and 5")
    body = (text or "").strip()
    if len(body) > MAX_TEXT:
        raise UserInputError("input.text", f"text must be at most {MAX_TEXT} characters")
    async with database.write() as conn:
        if not await catalog_sql.merchants_by_ids(conn, [merchant_id]):
            raise NotFoundError("no Merchant with this ID")
        visited = await vouchers_sql.last_visit(conn, principal.subject, merchant_id)
        if visited is None:
            return NotEligible("only customers who redeemed a voucher here can review it")
        review = await reviews_sql.insert_verified(
            conn,
            NewReview(
                merchant_id=merchant_id,
                author_id=principal.subject,
                author_name=(principal.name or DEFAULT_AUTHOR)[:80],
                rating=rating,
                text=body,
                visited_at=visited,
            ),
        )
    if review is None:
        return NotEligible("you have already reviewed this merchant")
    return ReviewPosted(review)


async def reply_to_review(
    database: Database, principal: Principal, review_id: int, text: str
) -> ReplyOutcome:
    body = text.strip()
    if not 1 <= len(body) <= MAX_TEXT:
        raise UserInputError("input.text", f"text must be 1 to {MAX_TEXT} characters")
    async with database.write() as conn:
        merchant_id = await reviews_sql.review_merchant(conn, review_id)
        if merchant_id is None:
            raise NotFoundError("no Review with this ID")
        principal.require_staff_of(merchant_id)
        replied = await reviews_sql.reply(conn, review_id, body, principal.subject)
        if replied is not None:
            await audit.record(
                conn,
                principal,
                action="reply_to_review",
                entity="review",
                entity_id=review_id,
                merchant_id=merchant_id,
                before={"merchant_reply": None},
                after={"merchant_reply": body},
            )
    if replied is None:
        return AlreadyReplied("this review already has the merchant's reply")
    return ReplyPosted(replied)


async def reviews_of_author(
    database: Database, author_id: str, before_id: int | None, limit: int
) -> KeysetPage[ReviewRow]:
    """The reviews a user wrote, newest first."""
    async with database.read() as conn:
        rows = await reviews_sql.reviews_of_author(conn, author_id, before_id, limit + 1)
        total = await reviews_sql.count_reviews_of_author(conn, author_id)
    return page_of(rows, limit, total)
