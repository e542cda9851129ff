"""Verified reviews: only customers who redeemed a voucher at the merchant, once each;
merchant staff may reply once."""

from __future__ import annotations

from commerce.errors import NotFoundError, UserInputError
from commerce.loop import Loop
from commerce.outcomes import AlreadyReplied, NotEligible, Replied, ReviewPosted
from commerce.principal import Principal
from geo import lookup, review_sql, voucher_sql
from geo.review_sql import NewReview

MAX_TEXT = 4000
DEFAULT_AUTHOR = "Verified customer"


async def post_review(
    loop: Loop, principal: Principal, merchant_id: int, rating: int, text: str | None
) -> ReviewPosted | NotEligible:
    if not 1 <= rating <= 5:
        raise UserInputError("input.rating", "rating must be between 1 and 5")
    body = (text or "").strip()
    if len(body) > MAX_TEXT:
        raise UserInputError("input.text", f"text must be at most {MAX_TEXT} characters")
    async with loop.database.write() as conn:
        if not await lookup.merchants_by_ids(conn, [merchant_id]):
            raise NotFoundError("no Merchant with this ID")
        visited = await voucher_sql.last_visit(conn, principal.subject, merchant_id)
        if visited is None:
            return NotEligible("only customers who redeemed a voucher here can review it")
        review_id = await review_sql.insert_verified(
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
    if review_id is None:
        return NotEligible("you have already reviewed this merchant")
    return ReviewPosted(review_id)


async def reply_to_review(
    loop: Loop, principal: Principal, review_id: int, text: str
) -> Replied | AlreadyReplied:
    body = text.strip()
    if not 1 <= len(body) <= MAX_TEXT:
        raise UserInputError("input.text", f"text must be 1 to {MAX_TEXT} characters")
    async with loop.database.write() as conn:
        merchant_id = await review_sql.review_merchant(conn, review_id)
        if merchant_id is None:
            raise NotFoundError("no Review with this ID")
        principal.require_staff_of(merchant_id)
        if not await review_sql.reply(conn, review_id, body, principal.subject):
            return AlreadyReplied("this review already has the merchant's reply")
    return Replied(review_id)
