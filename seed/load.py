"""Write the demo data set into PostGIS idempotently (upserts keyed by ``external_key``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.database import Database
from db.tables import categories, deal_stores, deals, merchants, reviews, stores
from seed.build import build_categories, build_merchants
from seed.rows import CategorySeed, DealSeed, MerchantSeed, ReviewSeed, StoreSeed


@dataclass(frozen=True, slots=True)
class SeedReport:
    categories: int
    merchants: int
    stores: int
    deals: int
    reviews: int


async def seed_demo(database: Database) -> SeedReport:
    """Insert or refresh every demo row in one transaction; running it twice changes nothing."""
    seeds = build_merchants()
    async with database.write() as conn:
        await _upsert(conn, categories, "slug", [_category_row(c) for c in build_categories()])
        merchant_rows = [_merchant_row(m) for m in seeds]
        merchant_ids = await _upsert(conn, merchants, "external_key", merchant_rows)
        store_rows = [_store_row(s, merchant_ids[m.external_key]) for m in seeds for s in m.stores]
        store_ids = await _upsert(conn, stores, "external_key", store_rows)
        deal_rows = [_deal_row(d, merchant_ids[m.external_key]) for m in seeds for d in m.deals]
        deal_ids = await _upsert(conn, deals, "external_key", deal_rows)
        links = [
            {"deal_id": deal_ids[d.external_key], "store_id": store_ids[key]}
            for m in seeds
            for d in m.deals
            for key in d.store_keys
        ]
        await conn.execute(insert(deal_stores).on_conflict_do_nothing(), links)
        review_rows = [
            _review_row(r, merchant_ids[m.external_key]) for m in seeds for r in m.reviews
        ]
        await _upsert(conn, reviews, "external_key", review_rows)
        await refresh_rating_aggregates(conn)
    return SeedReport(
        categories=len(build_categories()),
        merchants=len(merchant_ids),
        stores=len(store_ids),
        deals=len(deal_ids),
        reviews=len(review_rows),
    )


async def refresh_rating_aggregates(conn: AsyncConnection) -> None:
    await conn.execute(
        text(
            "UPDATE merchants m"
            " SET review_count = COALESCE(a.n, 0), rating_total = COALESCE(a.s, 0)"
            " FROM merchants m2 LEFT JOIN (SELECT merchant_id, count(*) AS n, sum(rating) AS s"
            " FROM reviews GROUP BY merchant_id) a ON a.merchant_id = m2.id"
            " WHERE m.id = m2.id AND (m.review_count, m.rating_total)"
            " IS DISTINCT FROM (COALESCE(a.n, 0), COALESCE(a.s, 0))"
        )
    )


async def _upsert(
    conn: AsyncConnection, table: Table, key: str, rows: Sequence[dict[str, Any]]
) -> dict[str, int]:
    """Upsert rows on their natural key; return natural key -> id (for tables with an id)."""
    if not rows:
        return {}
    statement = insert(table)
    updates = {c: statement.excluded[c] for c in rows[0] if c != key}
    await conn.execute(statement.on_conflict_do_update(index_elements=[key], set_=updates), rows)
    if "id" not in table.c:
        return {}
    keys = [row[key] for row in rows]
    result = await conn.execute(
        select(table.c[key], table.c.id).where(table.c[key] == func.any(keys))
    )
    return {natural: ident for natural, ident in result.all()}


def _category_row(category: CategorySeed) -> dict[str, Any]:
    return {
        "slug": category.slug,
        "names": category.names,
        "terms": category.terms,
        "position": category.position,
    }


def _merchant_row(m: MerchantSeed) -> dict[str, Any]:
    return {
        "external_key": m.external_key,
        "name": m.name,
        "names": m.names,
        "category_slug": m.category_slug,
        "price_level": m.price_level,
        "source": m.source,
        "is_demo": True,
    }


def _store_row(s: StoreSeed, merchant_id: int) -> dict[str, Any]:
    return {
        "external_key": s.external_key,
        "merchant_id": merchant_id,
        "name": s.name,
        "address": s.address,
        "location": f"SRID=4326;POINT({s.lng} {s.lat})",
        "timezone": s.timezone,
        "country_code": s.country_code,
        "opening_hours": s.opening_hours,
    }


def _deal_row(d: DealSeed, merchant_id: int) -> dict[str, Any]:
    return {
        "external_key": d.external_key,
        "merchant_id": merchant_id,
        "title": d.title,
        "description": d.description,
        "price": d.price,
        "original_price": d.original_price,
        "currency": d.currency,
        "valid_from": d.valid_from,
        "valid_until": d.valid_until,
        "total_quantity": d.total_quantity,
        "remaining_quantity": d.remaining_quantity,
        "per_user_limit": d.per_user_limit,
        "requires_booking": d.requires_booking,
        "is_demo": True,
    }


def _review_row(r: ReviewSeed, merchant_id: int) -> dict[str, Any]:
    return {
        "external_key": r.external_key,
        "merchant_id": merchant_id,
        "author_name": r.author_name,
        "rating": r.rating,
        "text": r.text,
        "created_at": r.created_at,
        "is_demo": True,
    }
