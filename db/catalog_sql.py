"""Catalog reads (merchants, stores, deals, categories, reviews): batched lookups by id, one
statement per batch, for the GraphQL DataLoaders and ``commerce``; and the column lists the
geo queries select."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, Subquery, and_, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection

from db.rows import (
    CategoryRow,
    DealRow,
    MerchantRow,
    RatingSummaryRow,
    ReviewRow,
    StoreRow,
    row_to,
)
from db.tables import (
    categories,
    deal_stores,
    deals,
    merchants,
    reviews,
    store_special_hours,
    stores,
)
from domain.offer import PUBLISHED

MERCHANT_COLUMNS = (
    merchants.c.id,
    merchants.c.name,
    merchants.c.names,
    merchants.c.category_slug,
    merchants.c.price_level,
    merchants.c.rating,
    merchants.c.review_count,
)
DEAL_COLUMNS = (
    deals.c.id,
    deals.c.merchant_id,
    deals.c.title,
    deals.c.description,
    deals.c.price,
    deals.c.original_price,
    deals.c.currency,
    deals.c.discount_percent,
    deals.c.valid_from,
    deals.c.valid_until,
    deals.c.remaining_quantity,
    deals.c.total_quantity,
    deals.c.per_user_limit,
    deals.c.requires_booking,
    deals.c.status,
    deals.c.version,
    deals.c.category_slug,
    deals.c.usage_rules,
    deals.c.voucher_valid_days,
)
REVIEW_COLUMNS = (
    reviews.c.id,
    reviews.c.merchant_id,
    reviews.c.author_name,
    reviews.c.rating,
    reviews.c.text,
    reviews.c.created_at,
    reviews.c.verified,
    reviews.c.merchant_reply,
    reviews.c.visited_at,
)
# Special days listed with a store: from yesterday (the store's zone may be behind the
# database's date) up to this many days ahead; setSpecialHours caps how many a store has.
SPECIAL_DAYS_AHEAD = 400


def special_hours_of(store: FromClause) -> ColumnElement[str | None]:
    """A store's upcoming special days as text, one ``YYYY-MM-DD hours`` a line by date
    (``commerce.hours`` reads it); NULL when there are none."""
    day = store_special_hours.c.date
    line = func.to_char(day, "YYYY-MM-DD").op("||")(" ").op("||")(store_special_hours.c.hours)
    return (
        select(func.string_agg(line, aggregate_order_by(literal("\n"), day)))
        .where(
            store_special_hours.c.store_id == store.c.id,
            day >= func.current_date() - 1,
            day <= func.current_date() + SPECIAL_DAYS_AHEAD,
        )
        .scalar_subquery()
    )


def special_hours_text(store: str) -> str:
    """:func:`special_hours_of` as SQL text over the alias ``store``."""
    return (
        "(SELECT string_agg(to_char(sh.date, 'YYYY-MM-DD') || ' ' || sh.hours, E'\\n'"
        " ORDER BY sh.date) FROM store_special_hours sh"
        f" WHERE sh.store_id = {store}.id AND sh.date >= current_date - 1"
        f" AND sh.date <= current_date + {SPECIAL_DAYS_AHEAD})"
    )


STORE_COLUMNS = (
    stores.c.id,
    stores.c.merchant_id,
    stores.c.name,
    stores.c.address,
    func.ST_Y(func.geometry(stores.c.location)).label("lat"),
    func.ST_X(func.geometry(stores.c.location)).label("lng"),
    stores.c.timezone,
    stores.c.country_code,
    stores.c.opening_hours,
    stores.c.version,
    special_hours_of(stores).label("special_hours"),
)


def deal_category(deal: FromClause = deals, merchant: FromClause = merchants) -> ColumnElement[str]:
    """A deal's category: its own, else its merchant's (``deals.category_slug`` NULL)."""
    return func.coalesce(deal.c.category_slug, merchant.c.category_slug)


def deal_category_text(deal: str, merchant: str) -> str:
    """:func:`deal_category` as SQL text over the aliases ``deal`` and ``merchant``."""
    return f"coalesce({deal}.category_slug, {merchant}.category_slug)"


def any_of(column: ColumnElement[Any], ids: Sequence[Any]) -> ColumnElement[bool]:
    """``column = ANY(:ids)``: one bind parameter whatever the batch size (cached plans)."""
    return column == func.any(list(ids))


async def categories_all(conn: AsyncConnection) -> list[CategoryRow]:
    result = await conn.execute(
        select(categories.c.slug, categories.c.names).order_by(categories.c.position)
    )
    return [row_to(CategoryRow, row) for row in result.mappings()]


async def merchants_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, MerchantRow]:
    result = await conn.execute(select(*MERCHANT_COLUMNS).where(any_of(merchants.c.id, ids)))
    return {row["id"]: row_to(MerchantRow, row) for row in result.mappings()}


async def stores_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, StoreRow]:
    result = await conn.execute(select(*STORE_COLUMNS).where(any_of(stores.c.id, ids)))
    return {row["id"]: row_to(StoreRow, row) for row in result.mappings()}


async def deals_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, DealRow]:
    result = await conn.execute(select(*DEAL_COLUMNS).where(any_of(deals.c.id, ids)))
    return {row["id"]: row_to(DealRow, row) for row in result.mappings()}


async def stores_of_merchants(
    conn: AsyncConnection, merchant_ids: Sequence[int]
) -> dict[int, list[StoreRow]]:
    result = await conn.execute(
        select(*STORE_COLUMNS)
        .where(any_of(stores.c.merchant_id, merchant_ids))
        .order_by(stores.c.merchant_id, stores.c.id)
    )
    grouped: dict[int, list[StoreRow]] = {m: [] for m in merchant_ids}
    for row in result.mappings():
        grouped[row["merchant_id"]].append(row_to(StoreRow, row))
    return grouped


async def stores_of_deals(
    conn: AsyncConnection, deal_ids: Sequence[int]
) -> dict[int, list[StoreRow]]:
    result = await conn.execute(
        select(deal_stores.c.deal_id, *STORE_COLUMNS)
        .join(stores, stores.c.id == deal_stores.c.store_id)
        .where(any_of(deal_stores.c.deal_id, deal_ids))
        .order_by(deal_stores.c.deal_id, stores.c.id)
    )
    grouped: dict[int, list[StoreRow]] = {d: [] for d in deal_ids}
    for row in result.mappings():
        grouped[row["deal_id"]].append(row_to(StoreRow, row))
    return grouped


def _paged_per_parent(
    inner: Select[Any], partition: ColumnElement[Any], order: Sequence[ColumnElement[Any]]
) -> Subquery:
    """Number each parent's children in order, so one statement pages many parents at once."""
    return inner.add_columns(
        func.row_number().over(partition_by=partition, order_by=list(order)).label("position")
    ).subquery()


async def deals_of_merchants(
    conn: AsyncConnection,
    merchant_ids: Sequence[int],
    after_id: int,
    limit: int,
    every_status: bool = False,
) -> dict[int, list[DealRow]]:
    """The first ``limit`` unexpired deals (by id, after ``after_id``) of each merchant,
    in one statement: published ones, or (``every_status``, for its staff) all of them."""
    inner = select(*DEAL_COLUMNS).where(
        and_(
            any_of(deals.c.merchant_id, merchant_ids), deals.c.id > after_id, _listed(every_status)
        )
    )
    paged = _paged_per_parent(inner, deals.c.merchant_id, [deals.c.id])
    query = select(paged).where(paged.c.position <= limit).order_by(paged.c.merchant_id, paged.c.id)
    grouped: dict[int, list[DealRow]] = {m: [] for m in merchant_ids}
    for row in (await conn.execute(query)).mappings():
        grouped[row["merchant_id"]].append(row_to(DealRow, row))
    return grouped


REVIEW_ORDERS: dict[str, tuple[ColumnElement[Any], ...]] = {
    "NEWEST": (reviews.c.created_at.desc(), reviews.c.id.desc()),
    "HIGHEST": (reviews.c.rating.desc(), reviews.c.created_at.desc(), reviews.c.id.desc()),
    "LOWEST": (reviews.c.rating.asc(), reviews.c.created_at.desc(), reviews.c.id.desc()),
}


async def reviews_of_merchants(
    conn: AsyncConnection, merchant_ids: Sequence[int], sort: str, offset: int, limit: int
) -> dict[int, list[ReviewRow]]:
    """Reviews of each merchant in ``sort`` order, positions ``offset+1 .. offset+limit``."""
    order = REVIEW_ORDERS[sort]
    inner = select(*REVIEW_COLUMNS).where(any_of(reviews.c.merchant_id, merchant_ids))
    paged = _paged_per_parent(inner, reviews.c.merchant_id, order)
    query = (
        select(paged)
        .where(and_(paged.c.position > offset, paged.c.position <= offset + limit))
        .order_by(paged.c.merchant_id, paged.c.position)
    )
    grouped: dict[int, list[ReviewRow]] = {m: [] for m in merchant_ids}
    for row in (await conn.execute(query)).mappings():
        grouped[row["merchant_id"]].append(row_to(ReviewRow, row))
    return grouped


async def rating_summaries(
    conn: AsyncConnection, merchant_ids: Sequence[int]
) -> dict[int, RatingSummaryRow]:
    counts = [
        func.count().filter(reviews.c.rating == star).label(f"stars_{star}") for star in range(1, 6)
    ]
    result = await conn.execute(
        select(
            reviews.c.merchant_id,
            func.count().label("count"),
            func.round(func.avg(reviews.c.rating), 2).label("average"),
            *counts,
        )
        .where(any_of(reviews.c.merchant_id, merchant_ids))
        .group_by(reviews.c.merchant_id)
    )
    found = {
        row["merchant_id"]: RatingSummaryRow(
            merchant_id=row["merchant_id"],
            count=row["count"],
            average=row["average"],
            histogram=tuple(row[f"stars_{s}"] for s in range(1, 6)),
        )
        for row in result.mappings()
    }
    empty = (0, 0, 0, 0, 0)
    return {m: found.get(m, RatingSummaryRow(m, 0, None, empty)) for m in merchant_ids}


def _listed(every_status: bool) -> ColumnElement[bool]:
    """Deals a merchant's list shows: unexpired, and published unless ``every_status``."""
    unexpired = deals.c.valid_until > func.now()
    return unexpired if every_status else and_(unexpired, deals.c.status == PUBLISHED)


async def deal_counts(conn: AsyncConnection, merchant_ids: Sequence[int]) -> dict[int, int]:
    """How many unexpired published deals each merchant has (``Merchant.deals.totalCount``)."""
    return await _deal_counts(conn, merchant_ids, every_status=False)


async def deal_counts_every_status(
    conn: AsyncConnection, merchant_ids: Sequence[int]
) -> dict[int, int]:
    """How many unexpired deals of any status each merchant has (what its staff see)."""
    return await _deal_counts(conn, merchant_ids, every_status=True)


async def _deal_counts(
    conn: AsyncConnection, merchant_ids: Sequence[int], every_status: bool
) -> dict[int, int]:
    result = await conn.execute(
        select(deals.c.merchant_id, func.count())
        .where(any_of(deals.c.merchant_id, merchant_ids), _listed(every_status))
        .group_by(deals.c.merchant_id)
    )
    found: dict[int, int] = {m: n for m, n in result.all()}
    return {m: found.get(m, 0) for m in merchant_ids}


async def reviews_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, ReviewRow]:
    result = await conn.execute(select(*REVIEW_COLUMNS).where(any_of(reviews.c.id, ids)))
    return {row["id"]: row_to(ReviewRow, row) for row in result.mappings()}


async def category_and_price_of_deals(
    conn: AsyncConnection, ids: Sequence[int]
) -> dict[int, tuple[str, Decimal]]:
    """(category slug, price) per deal: what search facets count."""
    if not ids:
        return {}
    statement = (
        select(deals.c.id, deal_category(), deals.c.price)
        .join(merchants, merchants.c.id == deals.c.merchant_id)
        .where(any_of(deals.c.id, ids))
    )
    return {row[0]: (row[1], row[2]) for row in await conn.execute(statement)}
