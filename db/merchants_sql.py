"""Merchants written by the platform: onboarding (``createMerchant``, ``o2o merchant create``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog_sql import MERCHANT_COLUMNS
from db.rows import MerchantRow, row_to
from db.tables import categories, merchants


@dataclass(frozen=True, slots=True)
class NewMerchant:
    external_key: str
    name: str
    category_slug: str
    owner_subject: str | None
    source: str


async def category_exists(conn: AsyncConnection, slug: str) -> bool:
    result = await conn.execute(select(categories.c.slug).where(categories.c.slug == slug))
    return result.first() is not None


async def insert_merchant(conn: AsyncConnection, new: NewMerchant) -> MerchantRow:
    result = await conn.execute(
        insert(merchants)
        .values(
            external_key=new.external_key,
            name=new.name,
            category_slug=new.category_slug,
            owner_subject=new.owner_subject,
            source=new.source,
        )
        .returning(*MERCHANT_COLUMNS)
    )
    row: MerchantRow = row_to(MerchantRow, result.mappings().one())
    return row


async def merchant_exists(conn: AsyncConnection, merchant_id: int) -> bool:
    result = await conn.execute(select(merchants.c.id).where(merchants.c.id == merchant_id))
    return result.first() is not None
