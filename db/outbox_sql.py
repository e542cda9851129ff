"""SQL behind the search index: the outbox, the publisher lock and document sources.

The outbox rows are written by triggers: with every change a document shows (migration 0002)
and, for stock, only when a deal sells out or comes back (migration 0006). Publishing is
serialised by a transaction-scoped advisory lock, and every publication takes its document
version from a sequence *after* taking that lock, so a higher version always carries data read
later: the index can use it as an external version and drop anything stale or replayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog_sql import deal_category_text

PUBLISHER_LOCK_KEY = 0x0205_EA2C  # any constant shared by every publisher process

_LOCATIONS = """
    (SELECT coalesce(json_agg(json_build_array(ST_Y(s.location::geometry),
                                               ST_X(s.location::geometry)) ORDER BY s.id), '[]')
       FROM {link} {where})
"""

_DEALS = text(
    f"""
    SELECT d.id, d.merchant_id, d.title, d.description, d.price, d.original_price, d.currency,
           d.discount_percent, d.valid_from, d.valid_until, d.remaining_quantity,
           m.name, m.names, m.rating, m.review_count, c.slug, c.names, c.terms,
           {
        _LOCATIONS.format(
            link="deal_stores ds JOIN stores s ON s.id = ds.store_id",
            where="WHERE ds.deal_id = d.id",
        )
    },
           d.status
      FROM deals d
      JOIN merchants m ON m.id = d.merchant_id
      JOIN categories c ON c.slug = {deal_category_text("d", "m")}
     WHERE d.id = ANY(:ids)
    """
)

_MERCHANTS = text(
    f"""
    SELECT m.id, m.name, m.names, m.rating, m.review_count, m.category_slug, c.names, c.terms,
           {_LOCATIONS.format(link="stores s", where="WHERE s.merchant_id = m.id")}
      FROM merchants m
      JOIN categories c ON c.slug = m.category_slug
     WHERE m.id = ANY(:ids)
    """
)

_CATEGORIES = text("SELECT slug, names, terms FROM categories WHERE slug = ANY(:slugs)")


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    entity: str
    key: str


@dataclass(frozen=True, slots=True)
class CategorySource:
    slug: str
    names: dict[str, str]
    terms: dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class MerchantSource:
    id: int
    name: str
    names: dict[str, str]
    rating: Decimal | None
    review_count: int
    category: CategorySource
    locations: list[tuple[float, float]]


@dataclass(frozen=True, slots=True)
class DealSource:
    id: int
    title: str
    description: str
    price: Decimal
    original_price: Decimal | None
    currency: str
    discount_percent: int
    valid_from: datetime
    valid_until: datetime
    remaining_quantity: int | None
    status: str
    merchant_id: int
    merchant_name: str
    merchant_names: dict[str, str]
    rating: Decimal | None
    category: CategorySource
    locations: list[tuple[float, float]]


@dataclass(frozen=True, slots=True)
class Affected:
    """The documents one batch of outbox entries touches."""

    deal_ids: list[int]
    merchant_ids: list[int]
    category_slugs: list[str]


@dataclass(frozen=True, slots=True)
class OutboxLag:
    pending: int
    oldest_age_s: float
    set_aside: int  # refused by the index too often: waiting for a fix and a reindex


async def try_publisher_lock(conn: AsyncConnection) -> bool:
    """Take the publisher lock for this transaction, or return False if another holds it."""
    result = await conn.execute(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PUBLISHER_LOCK_KEY}
    )
    return bool(result.scalar_one())


async def wait_publisher_lock(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PUBLISHER_LOCK_KEY})


async def next_document_version(conn: AsyncConnection) -> int:
    result = await conn.execute(text("SELECT nextval('search_document_version')"))
    return int(result.scalar_one())


async def pending_entries(
    conn: AsyncConnection,
    limit: int | None,
    max_attempts: int | None = None,
    ids: Sequence[int] | None = None,
) -> list[OutboxEntry]:
    """Unpublished rows in id order; with ``max_attempts``, not those set aside."""
    result = await conn.execute(
        text(
            "SELECT id, entity, entity_key FROM search_outbox"
            " WHERE published_at IS NULL"
            " AND (CAST(:max_attempts AS int) IS NULL OR attempts < :max_attempts)"
            " AND (CAST(:ids AS bigint[]) IS NULL OR id = ANY(:ids))"
            " ORDER BY id LIMIT :limit"
        ),
        {"limit": limit, "max_attempts": max_attempts, "ids": None if ids is None else list(ids)},
    )
    return [OutboxEntry(id=row[0], entity=row[1], key=row[2]) for row in result]


async def record_failure(conn: AsyncConnection, ids: Sequence[int], error: str) -> None:
    await conn.execute(
        text(
            "UPDATE search_outbox SET attempts = attempts + 1, last_error = left(:error, 2000)"
            " WHERE id = ANY(:ids)"
        ),
        {"ids": list(ids), "error": error},
    )


async def mark_published(conn: AsyncConnection, ids: Sequence[int]) -> None:
    await conn.execute(
        text("UPDATE search_outbox SET published_at = clock_timestamp() WHERE id = ANY(:ids)"),
        {"ids": list(ids)},
    )


async def affected_by(conn: AsyncConnection, entries: Sequence[OutboxEntry]) -> Affected:
    """Expand entries to documents: a merchant's deals, a store's deals, a category's all."""
    keys: dict[str, set[str]] = {
        "merchant": set(),
        "store": set(),
        "deal": set(),
        "category": set(),
    }
    for entry in entries:
        keys[entry.entity].add(entry.key)
    categories = sorted(keys["category"])
    merchants = {int(k) for k in keys["merchant"]}
    merchants |= await _ids(
        conn, "SELECT id FROM merchants WHERE category_slug = ANY(:keys)", categories
    )
    deals = {int(k) for k in keys["deal"]}
    deals |= await _ids(
        conn, "SELECT deal_id FROM deal_stores WHERE store_id = ANY(:keys)", _ints(keys["store"])
    )
    deals |= await _ids(conn, "SELECT id FROM deals WHERE merchant_id = ANY(:keys)", [*merchants])
    return Affected(sorted(deals), sorted(merchants), categories)


async def _ids(conn: AsyncConnection, sql: str, keys: Sequence[Any]) -> set[int]:
    if not keys:
        return set()
    result = await conn.execute(text(sql), {"keys": list(keys)})
    return {int(row[0]) for row in result}


def _ints(keys: set[str]) -> list[int]:
    return [int(k) for k in keys]


async def deal_sources(conn: AsyncConnection, ids: Sequence[int]) -> list[DealSource]:
    if not ids:
        return []
    result = await conn.execute(_DEALS, {"ids": list(ids)})
    return [_deal(row) for row in result]


async def merchant_sources(conn: AsyncConnection, ids: Sequence[int]) -> list[MerchantSource]:
    if not ids:
        return []
    result = await conn.execute(_MERCHANTS, {"ids": list(ids)})
    return [_merchant(row) for row in result]


async def category_sources(conn: AsyncConnection, slugs: Sequence[str]) -> list[CategorySource]:
    if not slugs:
        return []
    result = await conn.execute(_CATEGORIES, {"slugs": list(slugs)})
    return [CategorySource(slug=row[0], names=row[1], terms=row[2]) for row in result]


async def all_ids(conn: AsyncConnection) -> Affected:
    """Every document there should be (for a full reindex)."""
    deals = await conn.execute(text("SELECT id FROM deals ORDER BY id"))
    merchants = await conn.execute(text("SELECT id FROM merchants ORDER BY id"))
    categories = await conn.execute(text("SELECT slug FROM categories ORDER BY slug"))
    return Affected(
        deal_ids=[row[0] for row in deals],
        merchant_ids=[row[0] for row in merchants],
        category_slugs=[row[0] for row in categories],
    )


async def outbox_lag(conn: AsyncConnection, max_attempts: int) -> OutboxLag:
    result = await conn.execute(
        text(
            "SELECT count(*) FILTER (WHERE attempts < :max),"
            " coalesce(extract(epoch FROM clock_timestamp()"
            "   - min(created_at) FILTER (WHERE attempts < :max)), 0),"
            " count(*) FILTER (WHERE attempts >= :max)"
            " FROM search_outbox WHERE published_at IS NULL"
        ),
        {"max": max_attempts},
    )
    pending, age, failed = result.one()
    return OutboxLag(pending=int(pending), oldest_age_s=float(age), set_aside=int(failed))


def _points(pairs: list[list[float]]) -> list[tuple[float, float]]:
    return [(float(lat), float(lng)) for lat, lng in pairs]


def _merchant(row: Any) -> MerchantSource:
    return MerchantSource(
        id=row[0],
        name=row[1],
        names=row[2],
        rating=row[3],
        review_count=row[4],
        category=CategorySource(slug=row[5], names=row[6], terms=row[7]),
        locations=_points(row[8]),
    )


def _deal(row: Any) -> DealSource:
    return DealSource(
        id=row[0],
        merchant_id=row[1],
        title=row[2],
        description=row[3],
        price=row[4],
        original_price=row[5],
        currency=row[6],
        discount_percent=row[7],
        valid_from=row[8],
        valid_until=row[9],
        remaining_quantity=row[10],
        status=row[19],
        merchant_name=row[11],
        merchant_names=row[12],
        rating=row[13],
        category=CategorySource(slug=row[15], names=row[16], terms=row[17]),
        locations=_points(row[18]),
    )
