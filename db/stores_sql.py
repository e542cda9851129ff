"""Stores written by their merchant's staff: insert, lock for a versioned update, special
hours. Rows come back as :class:`~db.rows.StoreRow` (with version and special days)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog_sql import STORE_COLUMNS
from db.rows import StoreRow, row_to
from db.tables import store_special_hours, stores


@dataclass(frozen=True, slots=True)
class StoreValues:
    """Every column a staff member sets on a store."""

    name: str
    address: str | None
    lat: float
    lng: float
    timezone: str
    country_code: str
    opening_hours: str | None


def _point(lat: float, lng: float) -> str:
    return f"SRID=4326;POINT({lng!r} {lat!r})"


def _columns(values: StoreValues) -> dict[str, Any]:
    return {
        "name": values.name,
        "address": values.address,
        "location": _point(values.lat, values.lng),
        "timezone": values.timezone,
        "country_code": values.country_code,
        "opening_hours": values.opening_hours,
    }


async def insert_store(
    conn: AsyncConnection, merchant_id: int, external_key: str, values: StoreValues
) -> int:
    result = await conn.execute(
        insert(stores)
        .values(merchant_id=merchant_id, external_key=external_key, **_columns(values))
        .returning(stores.c.id)
    )
    store_id: int = result.scalar_one()
    return store_id


async def lock_store(conn: AsyncConnection, store_id: int) -> StoreRow | None:
    """The store as it is, its row locked until the transaction ends (None: no such store)."""
    result = await conn.execute(
        select(*STORE_COLUMNS).where(stores.c.id == store_id).with_for_update(of=stores)
    )
    row = result.mappings().first()
    return None if row is None else row_to(StoreRow, row)


async def read_store(conn: AsyncConnection, store_id: int) -> StoreRow:
    result = await conn.execute(select(*STORE_COLUMNS).where(stores.c.id == store_id))
    row: StoreRow = row_to(StoreRow, result.mappings().one())
    return row


async def update_store(
    conn: AsyncConnection, store_id: int, version: int, values: StoreValues
) -> bool:
    """Write the values and the next version if the store still has ``version``."""
    result = await conn.execute(
        update(stores)
        .where(stores.c.id == store_id, stores.c.version == version)
        .values(version=version + 1, **_columns(values))
    )
    return result.rowcount == 1


async def bump_version(conn: AsyncConnection, store_id: int) -> None:
    await conn.execute(
        update(stores).where(stores.c.id == store_id).values(version=stores.c.version + 1)
    )


async def special_hours_on(conn: AsyncConnection, store_id: int, day: date) -> str | None:
    result = await conn.execute(
        select(store_special_hours.c.hours).where(
            store_special_hours.c.store_id == store_id, store_special_hours.c.date == day
        )
    )
    return result.scalar_one_or_none()


async def count_special_days_from(conn: AsyncConnection, store_id: int, first: date) -> int:
    result = await conn.execute(
        select(func.count()).where(
            store_special_hours.c.store_id == store_id, store_special_hours.c.date >= first
        )
    )
    return int(result.scalar_one())


async def set_special_hours(conn: AsyncConnection, store_id: int, day: date, hours: str) -> None:
    statement = pg_insert(store_special_hours).values(store_id=store_id, date=day, hours=hours)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[store_special_hours.c.store_id, store_special_hours.c.date],
            set_={"hours": statement.excluded.hours},
        )
    )
