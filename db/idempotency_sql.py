"""Idempotency records: the first outcome of (caller, operation, key), kept for replays."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import idempotency_records as records


async def claim(
    conn: AsyncConnection, caller: str, operation: str, key: str, fingerprint: str
) -> bool:
    """Insert the record; False when it exists. A concurrent claim of the same key waits
    here until the first transaction ends (the primary key serialises them)."""
    statement = (
        insert(records)
        .values(caller=caller, operation=operation, key=key, fingerprint=fingerprint)
        .on_conflict_do_nothing()
        .returning(records.c.key)
    )
    return (await conn.execute(statement)).first() is not None


async def read(
    conn: AsyncConnection, caller: str, operation: str, key: str
) -> tuple[str, dict[str, Any] | None]:
    row = (
        await conn.execute(
            select(records.c.fingerprint, records.c.outcome).where(
                records.c.caller == caller, records.c.operation == operation, records.c.key == key
            )
        )
    ).one()
    return str(row.fingerprint), row.outcome


async def store_outcome(
    conn: AsyncConnection, caller: str, operation: str, key: str, outcome: dict[str, Any]
) -> None:
    await conn.execute(
        update(records)
        .where(records.c.caller == caller, records.c.operation == operation, records.c.key == key)
        .values(outcome=outcome)
    )
