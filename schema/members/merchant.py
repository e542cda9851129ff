"""The membership fields of ``Merchant``: ``members``, ``segments``, ``retention`` (OWNER,
MANAGER) and ``membershipProgram`` (public)."""

from __future__ import annotations

from datetime import date

from commerce.members import crm, memberships, retention
from commerce.members.filters import MemberFilterValues
from commerce.paging import decode_id_cursor, encode_id_cursor, page_size
from schema.members.types import (
    Member,
    MemberConnection,
    MemberEdge,
    MemberFilter,
    MembershipProgram,
    Retention,
    Segment,
)
from schema.paging import page_info
from schema.types import ContextInfo


async def resolve_members(
    info: ContextInfo,
    merchant_id: int,
    wanted: MemberFilter | None,
    first: int | None,
    after: str | None,
) -> MemberConnection:
    principal = info.context.require_viewer()
    services = info.context.require_services()
    values = MemberFilterValues() if wanted is None else wanted.values()
    before = decode_id_cursor(after) if after else None
    limit = page_size(20 if first is None else first)
    page = await crm.members(
        info.context.database,
        services.config.voucher_key,
        principal,
        merchant_id,
        values,
        (before, limit),
    )
    edges = [
        MemberEdge(cursor=encode_id_cursor(m.membership.id), node=Member.of(m)) for m in page.rows
    ]
    return MemberConnection(
        edges=edges,
        page_info=page_info([edge.cursor for edge in edges], page.has_next),
        total_count=page.total,
    )


async def resolve_segments(info: ContextInfo, merchant_id: int) -> list[Segment]:
    principal = info.context.require_viewer()
    rows = await crm.segments(info.context.database, principal, merchant_id)
    return [Segment.from_row(row) for row in rows]


async def resolve_retention(
    info: ContextInfo, merchant_id: int, first_day: date, last_day: date
) -> Retention:
    principal = info.context.require_viewer()
    found = await retention.retention(
        info.context.database, principal, merchant_id, first_day, last_day
    )
    return Retention.of(found)


async def resolve_program(info: ContextInfo, merchant_id: int) -> MembershipProgram | None:
    row = await memberships.program(info.context.database, merchant_id)
    return None if row is None else MembershipProgram.from_row(row)
