"""Partner keys over the database: create (the secret is returned once), find, revoke, list."""

from __future__ import annotations

from dataclasses import dataclass

from commerce.partners.api_keys import (
    PartnerKey,
    digest_matches,
    lookup_of,
    mint_key,
    validate_limits,
)
from db import partners_sql
from db.database import Database
from db.partners_sql import ApiKeyRow


@dataclass(frozen=True, slots=True)
class CreatedKey:
    id: int
    name: str
    secret: str


async def create_key(
    database: Database, name: str, rate_per_minute: int, cost_per_minute: int
) -> CreatedKey:
    limits = validate_limits(name, rate_per_minute, cost_per_minute)
    new = mint_key()
    async with database.write() as conn:
        key_id = await partners_sql.insert_key(
            conn,
            name=limits.name,
            lookup=new.lookup,
            key_hash=new.digest,
            rate_per_minute=limits.rate_per_minute,
            cost_per_minute=limits.cost_per_minute,
        )
    return CreatedKey(id=key_id, name=limits.name, secret=new.secret)


async def find_partner(database: Database, key: str) -> PartnerKey | None:
    """The unrevoked key whose secret this is; ``None`` for unknown, forged or revoked keys."""
    lookup = lookup_of(key)
    if lookup is None:
        return None
    async with database.read() as conn:
        row = await partners_sql.find_active_key(conn, lookup)
    if row is None or not digest_matches(key, row.key_hash):
        return None
    return PartnerKey(
        id=row.id,
        name=row.name,
        rate_per_minute=row.rate_per_minute,
        cost_per_minute=row.cost_per_minute,
    )


async def revoke_key(database: Database, key_id: int) -> bool:
    async with database.write() as conn:
        return await partners_sql.revoke_key(conn, key_id)


async def list_keys(database: Database) -> list[ApiKeyRow]:
    async with database.read() as conn:
        return await partners_sql.list_keys(conn)
