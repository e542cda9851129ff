"""The merchant's CRM (OWNER, MANAGER): the member list, saved segments, and the audience
rule of coupons.

- ``Merchant.members``: current members only, newest membership first, keyset paged by
  membership id; the customer appears as ``customerRef``, the same HMAC pseudonym as in
  ``Merchant.orders`` (``commerce/merchants/orders.py``), never the token subject.
- ``saveSegment``: a named filter, evaluated when used, so a member who leaves (or stops
  matching) is out of every segment at once.
- ``is_eligible``: may ``subject`` have a coupon of this audience (``EVERYONE``,
  ``MEMBERS``: a current member; ``SEGMENT``: a current member matching the saved segment,
  which must be the merchant's)?
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.errors import NotFoundError, UserInputError
from commerce.identity import roles
from commerce.identity.principal import Principal
from commerce.keyset import KeysetPage, page_of
from commerce.members.filters import MemberFilterValues, checked, from_json, to_json
from commerce.merchants import audit
from commerce.merchants.orders import customer_ref
from db import members_sql
from db.database import Database
from db.members_sql import MembershipRow, SegmentRow

MAX_SEGMENTS_LISTED = 100  # also the most a merchant keeps
MAX_SEGMENT_SUBJECTS = 10_000
AUDIENCES = ("EVERYONE", "MEMBERS", "SEGMENT")


@dataclass(frozen=True, slots=True)
class Member:
    """A membership as the merchant's staff see it: the customer only as a pseudonym."""

    membership: MembershipRow
    customer_ref: str


async def members(
    database: Database,
    key: bytes,
    principal: Principal,
    merchant_id: int,
    wanted: MemberFilterValues,
    page: tuple[int | None, int],
) -> KeysetPage[Member]:
    """One keyset page (``page`` = before id, limit) of the merchant's matching members."""
    roles.require(principal, "manage_members", merchant_id)
    criteria = checked(wanted).criteria(merchant_id)
    before_id, limit = page
    async with database.read() as conn:
        rows = await members_sql.members_page(conn, criteria, before_id, limit + 1)
        total = await members_sql.count_members(conn, criteria)
    found = [Member(row, customer_ref(key, row.subject)) for row in rows]
    return page_of(found, limit, total)


async def save_segment(
    database: Database,
    principal: Principal,
    merchant_id: int,
    name: str,
    wanted: MemberFilterValues,
) -> SegmentRow:
    """Save ``wanted`` as the merchant's segment ``name`` (the same name replaces it)."""
    name = name.strip()
    if not 1 <= len(name) <= 80:
        raise UserInputError("input.name", "name must be 1 to 80 characters")
    stored = to_json(checked(wanted, "input.filter"))
    async with database.write() as conn:
        if not await members_sql.merchant_exists(conn, merchant_id):
            raise NotFoundError("no Merchant with this ID")
        roles.require(principal, "manage_members", merchant_id)
        await _room_for(conn, merchant_id, name)
        segment = await members_sql.upsert_segment(
            conn, merchant_id, name, stored, principal.subject
        )
        await audit.record(
            conn,
            principal,
            action="save_segment",
            entity="member_segment",
            entity_id=segment.id,
            merchant_id=merchant_id,
            after={"name": name, "filter": stored},
        )
    return segment


async def segments(database: Database, principal: Principal, merchant_id: int) -> list[SegmentRow]:
    """The merchant's saved segments by name (at most 100)."""
    roles.require(principal, "manage_members", merchant_id)
    async with database.read() as conn:
        return await members_sql.segments_of(conn, merchant_id, MAX_SEGMENTS_LISTED)


async def segment_size(conn: AsyncConnection, segment: SegmentRow) -> int:
    """How many current members the segment holds."""
    criteria = from_json(segment.filter).criteria(segment.merchant_id)
    return await members_sql.count_members(conn, criteria)


async def segment_subjects(
    conn: AsyncConnection, merchant_id: int, segment_id: int, limit: int = MAX_SEGMENT_SUBJECTS
) -> list[str]:
    """The token subjects of the segment's current members (for ``issueCoupon``), oldest
    member first, at most ``limit``; ``NOT_FOUND`` unless it is the merchant's segment."""
    segment = await _segment_of(conn, merchant_id, segment_id)
    criteria = from_json(segment.filter).criteria(merchant_id)
    return await members_sql.matching_subjects(conn, criteria, limit)


async def is_eligible(
    conn: AsyncConnection,
    audience: str,
    merchant_id: int,
    segment_id: int | None,
    subject: str,
) -> bool:
    """May ``subject`` have a coupon of ``merchant_id`` aimed at ``audience``?"""
    if audience == "EVERYONE":
        return True
    if audience == "MEMBERS":
        return await members_sql.membership_of(conn, merchant_id, subject) is not None
    if audience == "SEGMENT":
        if segment_id is None:
            return False
        segment = await members_sql.segment_by_id(conn, segment_id)
        if segment is None or segment.merchant_id != merchant_id:
            return False
        criteria = from_json(segment.filter).criteria(merchant_id)
        return await members_sql.member_matches(conn, criteria, subject)
    raise ValueError(f"unknown audience {audience!r}; one of {', '.join(AUDIENCES)}")


async def _room_for(conn: AsyncConnection, merchant_id: int, name: str) -> None:
    """A new name needs room under the merchant's limit of segments (replacing is free)."""
    held = await members_sql.segments_of(conn, merchant_id, MAX_SEGMENTS_LISTED)
    if len(held) >= MAX_SEGMENTS_LISTED and all(s.name != name for s in held):
        raise UserInputError(
            "input.name", f"a merchant keeps at most {MAX_SEGMENTS_LISTED} segments"
        )


async def _segment_of(conn: AsyncConnection, merchant_id: int, segment_id: int) -> SegmentRow:
    segment = await members_sql.segment_by_id(conn, segment_id)
    if segment is None or segment.merchant_id != merchant_id:
        raise NotFoundError("no Segment with this ID at this merchant")
    return segment


async def segment(database: Database, principal: Principal, segment_id: int) -> SegmentRow:
    """One saved segment, for the merchant's OWNER and MANAGERs (``NOT_FOUND`` otherwise, so
    segment ids of other merchants reveal nothing)."""
    async with database.read() as conn:
        found = await members_sql.segment_by_id(conn, segment_id)
    if found is None or not roles.can(principal, "manage_members", found.merchant_id):
        raise NotFoundError("no Segment with this ID")
    return found


async def size_of(database: Database, saved: SegmentRow) -> int:
    """How many current members ``saved`` holds."""
    async with database.read() as conn:
        return await segment_size(conn, saved)
