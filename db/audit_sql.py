"""The staff audit: one append-only row per staff write (the triggers of migration 0007
refuse UPDATE, DELETE and TRUNCATE)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import staff_audit

MAX_AUDIT_ROWS = 500


@dataclass(frozen=True, slots=True)
class AuditEntry:
    subject: str
    role: str
    merchant_id: int | None
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    subject: str
    role: str
    merchant_id: int | None
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


async def append(conn: AsyncConnection, entry: AuditEntry) -> int:
    """Write one audit row in the caller's transaction; its id."""
    result = await conn.execute(
        insert(staff_audit)
        .values(
            subject=entry.subject,
            role=entry.role,
            merchant_id=entry.merchant_id,
            action=entry.action,
            entity=entry.entity,
            entity_id=entry.entity_id,
            before=entry.before,
            after=entry.after,
        )
        .returning(staff_audit.c.id)
    )
    audit_id: int = result.scalar_one()
    return audit_id


async def for_entity(
    conn: AsyncConnection, entity: str, entity_id: str, limit: int = MAX_AUDIT_ROWS
) -> list[AuditRow]:
    """The audit rows of one entity, oldest first (at most ``limit``)."""
    result = await conn.execute(
        select(staff_audit)
        .where(staff_audit.c.entity == entity, staff_audit.c.entity_id == entity_id)
        .order_by(staff_audit.c.id)
        .limit(max(1, min(limit, MAX_AUDIT_ROWS)))
    )
    return [AuditRow(**dict(row)) for row in result.mappings()]
