"""Verified reviews (one per author and merchant, aggregates in the same transaction), replies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog_sql import REVIEW_COLUMNS
from db.rows import ReviewRow, row_to
from db.tables import merchants, reviews


@dataclass(frozen=True, slots=True)
class NewReview:
    merchant_id: int
    author_id: str
    author_name: str
    rating: int
    text: str
    visited_at: datetime


async def insert_verified(conn: AsyncConnection, new: NewReview) -> ReviewRow | None:
    """The review and the merchant's aggregates; None when the author reviewed it before."""
    statement = (
        insert(reviews)
        .values(
            merchant_id=new.merchant_id,
            author_id=new.author_id,
            author_name=new.author_name,
            rating=new.rating,
            text=new.text,
            verified=True,
            visited_at=new.visited_at,
        )
        .on_conflict_do_nothing(
            index_elements=["merchant_id", "author_id"],
            index_where=text("author_id IS NOT NULL"),
        )
        .returning(*REVIEW_COLUMNS)
    )
    row = (await conn.execute(statement)).mappings().first()
    if row is None:
        return None
    await conn.execute(
        update(merchants)
        .where(merchants.c.id == new.merchant_id)
        .values(
            review_count=merchants.c.review_count + 1,
            rating_total=merchants.c.rating_total + new.rating,
        )
    )
    review: ReviewRow = row_to(ReviewRow, row)
    return review


async def review_merchant(conn: AsyncConnection, review_id: int) -> int | None:
    result = await conn.execute(select(reviews.c.merchant_id).where(reviews.c.id == review_id))
    return result.scalar_one_or_none()


async def reply(
    conn: AsyncConnection, review_id: int, text_: str, staff_id: str
) -> ReviewRow | None:
    """The first reply wins (the review as replied to); a second is refused (None)."""
    result = await conn.execute(
        update(reviews)
        .where(reviews.c.id == review_id, reviews.c.merchant_reply.is_(None))
        .values(merchant_reply=text_, replied_at=func.now(), replied_by=staff_id)
        .returning(*REVIEW_COLUMNS)
    )
    row = result.mappings().first()
    return None if row is None else row_to(ReviewRow, row)


async def reviews_of_author(
    conn: AsyncConnection, author_id: str, before_id: int | None, limit: int
) -> list[ReviewRow]:
    query = select(*REVIEW_COLUMNS).where(reviews.c.author_id == author_id)
    if before_id is not None:
        query = query.where(reviews.c.id < before_id)
    result = await conn.execute(query.order_by(reviews.c.id.desc()).limit(limit))
    return [row_to(ReviewRow, row) for row in result.mappings()]


async def count_reviews_of_author(conn: AsyncConnection, author_id: str) -> int:
    result = await conn.execute(
        select(func.count()).select_from(reviews).where(reviews.c.author_id == author_id)
    )
    return int(result.scalar_one())


async def follow_visit(
    conn: AsyncConnection, author_id: str, merchant_id: int, visited_at: datetime | None
) -> None:
    """A review's ``verified`` follows the author's redemptions at the merchant: verified
    with the last visit while one stands, unverified when none does (demo reviews keep
    theirs)."""
    await conn.execute(
        update(reviews)
        .where(
            reviews.c.merchant_id == merchant_id,
            reviews.c.author_id == author_id,
            reviews.c.is_demo.is_(False),
        )
        .values(verified=visited_at is not None, visited_at=visited_at)
    )
