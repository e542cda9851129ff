"""Partner API keys: insert, find by lookup prefix, revoke, list (hashes only, no secrets)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import api_keys


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    id: int
    name: str
    lookup: str
    key_hash: bytes
    rate_per_minute: int
    cost_per_minute: int
    created_at: datetime
    revoked_at: datetime | None


_COLUMNS = (
    api_keys.c.id,
    api_keys.c.name,
    api_keys.c.lookup,
    api_keys.c.key_hash,
    api_keys.c.rate_per_minute,
    api_keys.c.cost_per_minute,
    api_keys.c.created_at,
    api_keys.c.revoked_at,
)


async def insert_key(
    conn: AsyncConnection,
    *,
    name: str,
    lookup: str,
    key_hash: bytes,
    rate_per_minute: int,
    cost_per_minute: int,
) -> int:
    statement = (
        api_keys.insert()
        .values(
            name=name,
            lookup=lookup,
            key_hash=key_hash,
            rate_per_minute=rate_per_minute,
            cost_per_minute=cost_per_minute,
        )
        .returning(api_keys.c.id)
    )
    return int((await conn.execute(statement)).scalar_one())


async def find_active_key(conn: AsyncConnection, lookup: str) -> ApiKeyRow | None:
    statement = select(*_COLUMNS).where(
        api_keys.c.lookup == lookup, api_keys.c.revoked_at.is_(None)
    )
    row = (await conn.execute(statement)).first()
    return ApiKeyRow(*row) if row else None


async def revoke_key(conn: AsyncConnection, key_id: int) -> bool:
    """Revoke once; False when there is no such unrevoked key."""
    statement = (
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(api_keys.c.id)
    )
    return (await conn.execute(statement)).first() is not None


async def list_keys(conn: AsyncConnection) -> list[ApiKeyRow]:
    rows = await conn.execute(select(*_COLUMNS).order_by(api_keys.c.id))
    return [ApiKeyRow(*row) for row in rows]
