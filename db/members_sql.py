"""Memberships: programs, members, visits, consents, anonymous aggregates and segments.

A membership's figures (visits, spend, points, tier, first and last visit) are recomputed
from its ``membership_visits`` in one statement after every visit or undo, so they always
equal the visits they summarise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from db.rows import row_to
from db.tables import member_segments, membership_consents, membership_programs, memberships

MAX_TIERS = 10


@dataclass(frozen=True, slots=True)
class MembershipRow:
    id: int
    merchant_id: int
    subject: str
    joined_at: datetime
    joined_how: str
    currency: str | None
    visits: int
    total_spend: Decimal
    points: int
    tier: str | None
    first_visit_at: datetime | None
    last_visit_at: datetime | None


@dataclass(frozen=True, slots=True)
class ProgramRow:
    merchant_id: int
    auto_join: bool
    points_per_unit: Decimal
    tiers: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class NewVisit:
    membership_id: int
    merchant_id: int
    at: datetime
    spend: Decimal
    currency: str
    source: str
    source_id: int | None


MEMBERSHIP_COLUMNS = tuple(memberships.c[name] for name in MembershipRow.__dataclass_fields__)
PROGRAM_COLUMNS = tuple(membership_programs.c[name] for name in ProgramRow.__dataclass_fields__)


async def lock_membership(
    conn: AsyncConnection, merchant_id: int, subject: str
) -> MembershipRow | None:
    """The membership of ``subject`` at ``merchant_id`` under its row lock."""
    result = await conn.execute(
        select(*MEMBERSHIP_COLUMNS)
        .where(memberships.c.merchant_id == merchant_id, memberships.c.subject == subject)
        .with_for_update()
    )
    row = result.mappings().first()
    return None if row is None else row_to(MembershipRow, row)


async def membership_of(
    conn: AsyncConnection, merchant_id: int, subject: str
) -> MembershipRow | None:
    """The membership of ``subject`` at ``merchant_id`` (no lock)."""
    result = await conn.execute(
        select(*MEMBERSHIP_COLUMNS).where(
            memberships.c.merchant_id == merchant_id, memberships.c.subject == subject
        )
    )
    row = result.mappings().first()
    return None if row is None else row_to(MembershipRow, row)


async def memberships_of_subject(
    conn: AsyncConnection, subject: str, limit: int
) -> list[MembershipRow]:
    """The subject's memberships, most recently joined first, at most ``limit``."""
    result = await conn.execute(
        select(*MEMBERSHIP_COLUMNS)
        .where(memberships.c.subject == subject)
        .order_by(memberships.c.id.desc())
        .limit(limit)
    )
    return [row_to(MembershipRow, row) for row in result.mappings()]


async def insert_membership(
    conn: AsyncConnection, merchant_id: int, subject: str, how: str
) -> None:
    """A new membership unless one exists (a concurrent join wins quietly)."""
    await conn.execute(
        text(
            "INSERT INTO memberships (merchant_id, subject, joined_how)"
            " VALUES (:m, :s, :how) ON CONFLICT (merchant_id, subject) DO NOTHING"
        ),
        {"m": merchant_id, "s": subject, "how": how},
    )


async def program_of(conn: AsyncConnection, merchant_id: int) -> ProgramRow | None:
    """The merchant's membership program (None: it runs none; members still join)."""
    result = await conn.execute(
        select(*PROGRAM_COLUMNS).where(membership_programs.c.merchant_id == merchant_id)
    )
    row = result.mappings().first()
    return None if row is None else row_to(ProgramRow, row)


async def has_consent(conn: AsyncConnection, merchant_id: int, subject: str) -> bool:
    """Has ``subject`` accepted to be enrolled automatically by ``merchant_id``?"""
    result = await conn.execute(
        select(membership_consents.c.subject).where(
            membership_consents.c.merchant_id == merchant_id,
            membership_consents.c.subject == subject,
        )
    )
    return result.first() is not None


_INSERT_VISIT = text(
    """
    INSERT INTO membership_visits
        (membership_id, merchant_id, at, spend, currency, points, source, source_id)
    SELECT :membership_id, :merchant_id, :at, :spend, :currency,
           floor(:spend * coalesce(p.points_per_unit, 1))::bigint, :source, :source_id
    FROM (SELECT 1) one
    LEFT JOIN membership_programs p ON p.merchant_id = :merchant_id
    ON CONFLICT (source, source_id) DO NOTHING
    RETURNING id
    """
)

# The figures of one membership from its visits; spend and points count the visits in the
# membership's currency (the first visit's); the tier is the highest threshold reached.
_REFRESH = text(
    """
    WITH cur AS (
        SELECT coalesce(m.currency,
                        (SELECT v.currency FROM membership_visits v
                         WHERE v.membership_id = m.id ORDER BY v.at, v.id LIMIT 1)) AS currency
        FROM memberships m WHERE m.id = :membership_id
    ), figures AS (
        SELECT count(*)::int AS visits,
               coalesce(sum(v.spend) FILTER (WHERE v.currency = cur.currency), 0) AS spend,
               coalesce(sum(v.points) FILTER (WHERE v.currency = cur.currency), 0)::bigint
                   AS points,
               min(v.at) AS first_at, max(v.at) AS last_at
        FROM cur LEFT JOIN membership_visits v ON v.membership_id = :membership_id
    )
    UPDATE memberships m SET
        currency = cur.currency,
        visits = f.visits,
        total_spend = f.spend,
        points = f.points,
        first_visit_at = f.first_at,
        last_visit_at = f.last_at,
        tier = (
            SELECT t.value ->> 'name'
            FROM membership_programs p, jsonb_array_elements(p.tiers) t(value)
            WHERE p.merchant_id = m.merchant_id
              AND (t.value ->> 'minPoints')::bigint <= f.points
            ORDER BY (t.value ->> 'minPoints')::bigint DESC LIMIT 1
        )
    FROM cur, figures f
    WHERE m.id = :membership_id
    """
)


async def insert_visit(conn: AsyncConnection, visit: NewVisit) -> bool:
    """Record a visit (points by the program's rate, rounded down) and refresh the
    membership's figures; False when this source was already counted."""
    result = await conn.execute(
        _INSERT_VISIT,
        {
            "membership_id": visit.membership_id,
            "merchant_id": visit.merchant_id,
            "at": visit.at,
            "spend": visit.spend,
            "currency": visit.currency,
            "source": visit.source,
            "source_id": visit.source_id,
        },
    )
    if result.first() is None:
        return False
    await refresh(conn, visit.membership_id)
    return True


async def refresh(conn: AsyncConnection, membership_id: int) -> None:
    """Recompute one membership's figures from its visits."""
    await conn.execute(_REFRESH, {"membership_id": membership_id})


async def delete_visit(conn: AsyncConnection, source: str, source_id: int) -> int | None:
    """Remove the visit of a source (an undone redemption); its membership id, if any."""
    result = await conn.execute(
        text(
            "DELETE FROM membership_visits WHERE source = :source AND source_id = :id"
            " RETURNING membership_id"
        ),
        {"source": source, "id": source_id},
    )
    found = result.scalar_one_or_none()
    return None if found is None else int(found)


async def booking_currency(conn: AsyncConnection, booking_id: int) -> str:
    """The currency a booking (and so each of its vouchers) was paid in."""
    result = await conn.execute(
        text("SELECT currency FROM bookings WHERE id = :id"), {"id": booking_id}
    )
    return str(result.scalar_one())


# --- joining, leaving, consent, program ------------------------------------------------------


async def merchant_exists(conn: AsyncConnection, merchant_id: int) -> bool:
    """Is there a merchant with this id?"""
    result = await conn.execute(text("SELECT 1 FROM merchants WHERE id = :id"), {"id": merchant_id})
    return result.first() is not None


async def set_consent(conn: AsyncConnection, merchant_id: int, subject: str, accept: bool) -> None:
    """Record (or withdraw) ``subject``'s acceptance of auto-join at ``merchant_id``."""
    if accept:
        statement = (
            "INSERT INTO membership_consents (subject, merchant_id) VALUES (:s, :m)"
            " ON CONFLICT (subject, merchant_id) DO NOTHING"
        )
    else:
        statement = "DELETE FROM membership_consents WHERE subject = :s AND merchant_id = :m"
    await conn.execute(text(statement), {"s": subject, "m": merchant_id})


async def forget_member(conn: AsyncConnection, membership: MembershipRow) -> None:
    """Fold a leaving member's figures into the merchant's anonymous aggregate, then delete the
    membership (its visits go with it) and their auto-join consent."""
    await conn.execute(
        text(
            """
            INSERT INTO membership_aggregates
                (merchant_id, currency, members_left, visits, total_spend, points)
            VALUES (:m, :currency, 1, :visits, :spend, :points)
            ON CONFLICT (merchant_id, currency) DO UPDATE SET
                members_left = membership_aggregates.members_left + 1,
                visits = membership_aggregates.visits + EXCLUDED.visits,
                total_spend = membership_aggregates.total_spend + EXCLUDED.total_spend,
                points = membership_aggregates.points + EXCLUDED.points
            """
        ),
        {
            "m": membership.merchant_id,
            "currency": membership.currency or "XXX",
            "visits": membership.visits,
            "spend": membership.total_spend,
            "points": membership.points,
        },
    )
    await conn.execute(text("DELETE FROM memberships WHERE id = :id"), {"id": membership.id})
    await set_consent(conn, membership.merchant_id, membership.subject, False)


@dataclass(frozen=True, slots=True)
class AggregateRow:
    currency: str
    members_left: int
    visits: int
    total_spend: Decimal
    points: int


async def aggregates_of(conn: AsyncConnection, merchant_id: int) -> list[AggregateRow]:
    """What members who left the merchant left behind, per currency (no subjects)."""
    result = await conn.execute(
        text(
            "SELECT currency, members_left, visits, total_spend, points"
            " FROM membership_aggregates WHERE merchant_id = :m ORDER BY currency"
        ),
        {"m": merchant_id},
    )
    return [row_to(AggregateRow, row) for row in result.mappings()]


async def save_program(conn: AsyncConnection, program: ProgramRow) -> None:
    """Create or replace the merchant's program, then re-grade its members' tiers."""
    await conn.execute(
        text(
            """
            INSERT INTO membership_programs (merchant_id, auto_join, points_per_unit, tiers)
            VALUES (:m, :auto_join, :rate, CAST(:tiers AS jsonb))
            ON CONFLICT (merchant_id) DO UPDATE SET
                auto_join = EXCLUDED.auto_join,
                points_per_unit = EXCLUDED.points_per_unit,
                tiers = EXCLUDED.tiers,
                updated_at = now()
            """
        ),
        {
            "m": program.merchant_id,
            "auto_join": program.auto_join,
            "rate": program.points_per_unit,
            "tiers": json.dumps(program.tiers),
        },
    )
    await conn.execute(
        text(
            """
            UPDATE memberships m SET tier = (
                SELECT t.value ->> 'name'
                FROM membership_programs p, jsonb_array_elements(p.tiers) t(value)
                WHERE p.merchant_id = m.merchant_id
                  AND (t.value ->> 'minPoints')::bigint <= m.points
                ORDER BY (t.value ->> 'minPoints')::bigint DESC LIMIT 1)
            WHERE m.merchant_id = :m
            """
        ),
        {"m": program.merchant_id},
    )


# --- the merchant's CRM ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberCriteria:
    """Which members to list; every set field narrows."""

    merchant_id: int
    min_visits: int | None = None
    min_spend: Decimal | None = None
    spend_currency: str | None = None
    last_visit_before: datetime | None = None
    last_visit_after: datetime | None = None
    tier: str | None = None


def _conditions(criteria: MemberCriteria) -> list[ColumnElement[bool]]:
    m = memberships.c
    wanted: list[ColumnElement[bool]] = [m.merchant_id == criteria.merchant_id]
    if criteria.min_visits is not None:
        wanted.append(m.visits >= criteria.min_visits)
    if criteria.min_spend is not None:
        wanted.append(m.total_spend >= criteria.min_spend)
        wanted.append(m.currency == criteria.spend_currency)
    if criteria.last_visit_before is not None:
        wanted.append(m.last_visit_at < criteria.last_visit_before)
    if criteria.last_visit_after is not None:
        wanted.append(m.last_visit_at >= criteria.last_visit_after)
    if criteria.tier is not None:
        wanted.append(m.tier == criteria.tier)
    return wanted


async def members_page(
    conn: AsyncConnection, criteria: MemberCriteria, before_id: int | None, limit: int
) -> list[MembershipRow]:
    """Up to ``limit`` matching members, newest membership first, below ``before_id``."""
    wanted = _conditions(criteria)
    if before_id is not None:
        wanted.append(memberships.c.id < before_id)
    result = await conn.execute(
        select(*MEMBERSHIP_COLUMNS).where(*wanted).order_by(memberships.c.id.desc()).limit(limit)
    )
    return [row_to(MembershipRow, row) for row in result.mappings()]


async def count_members(conn: AsyncConnection, criteria: MemberCriteria) -> int:
    """How many members match."""
    result = await conn.execute(
        select(func.count()).select_from(memberships).where(*_conditions(criteria))
    )
    return int(result.scalar_one())


async def member_matches(conn: AsyncConnection, criteria: MemberCriteria, subject: str) -> bool:
    """Is ``subject`` a current member matching ``criteria``?"""
    result = await conn.execute(
        select(memberships.c.id).where(*_conditions(criteria), memberships.c.subject == subject)
    )
    return result.first() is not None


async def matching_subjects(
    conn: AsyncConnection, criteria: MemberCriteria, limit: int
) -> list[str]:
    """The token subjects of matching members (for issuing coupons), oldest member first."""
    result = await conn.execute(
        select(memberships.c.subject)
        .where(*_conditions(criteria))
        .order_by(memberships.c.id)
        .limit(limit)
    )
    return [str(subject) for subject in result.scalars()]


@dataclass(frozen=True, slots=True)
class SegmentRow:
    id: int
    merchant_id: int
    name: str
    filter: dict[str, Any]
    updated_at: datetime


SEGMENT_COLUMNS = tuple(member_segments.c[name] for name in SegmentRow.__dataclass_fields__)


async def upsert_segment(
    conn: AsyncConnection, merchant_id: int, name: str, wanted: dict[str, Any], by: str
) -> SegmentRow:
    """Save the filter under ``name`` (replacing the merchant's segment of that name)."""
    result = await conn.execute(
        text(
            """
            INSERT INTO member_segments (merchant_id, name, filter, created_by)
            VALUES (:m, :name, CAST(:filter AS jsonb), :by)
            ON CONFLICT (merchant_id, name) DO UPDATE SET
                filter = EXCLUDED.filter, created_by = EXCLUDED.created_by, updated_at = now()
            RETURNING id, merchant_id, name, filter, updated_at
            """
        ),
        {"m": merchant_id, "name": name, "filter": json.dumps(wanted), "by": by},
    )
    saved: SegmentRow = row_to(SegmentRow, result.mappings().one())
    return saved


async def segment_by_id(conn: AsyncConnection, segment_id: int) -> SegmentRow | None:
    """One saved segment."""
    result = await conn.execute(select(*SEGMENT_COLUMNS).where(member_segments.c.id == segment_id))
    row = result.mappings().first()
    return None if row is None else row_to(SegmentRow, row)


async def segments_of(conn: AsyncConnection, merchant_id: int, limit: int) -> list[SegmentRow]:
    """The merchant's segments by name."""
    result = await conn.execute(
        select(*SEGMENT_COLUMNS)
        .where(member_segments.c.merchant_id == merchant_id)
        .order_by(member_segments.c.name)
        .limit(limit)
    )
    return [row_to(SegmentRow, row) for row in result.mappings()]


# --- retention -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CohortRow:
    month: date
    size: int
    returned: list[float]
    repeat_rate: float


# Months are local to the merchant's zone; visits after the last month are not read. A
# cohort's ``returned[k-1]`` is the share of its members with a visit k months after their
# first; ``repeat_rate`` is the share of all cohorts' members with two visits or more.
_RETENTION = text(
    """
    WITH v AS (
        SELECT mv.membership_id AS member,
               (extract(year FROM mv.at AT TIME ZONE :zone) * 12
                + extract(month FROM mv.at AT TIME ZONE :zone))::int AS mi
        FROM membership_visits mv
        WHERE mv.merchant_id = :merchant_id
          AND mv.at < (CAST(:last_month AS date) + interval '1 month')::timestamp
                      AT TIME ZONE :zone
    ), firsts AS (
        SELECT member, min(mi) AS cohort, count(*) AS n FROM v GROUP BY member
    ), cohort_members AS (
        SELECT * FROM firsts WHERE cohort BETWEEN :first_mi AND :last_mi
    ), sizes AS (
        SELECT cohort, count(*) AS size, count(*) FILTER (WHERE n >= 2) AS repeaters
        FROM cohort_members GROUP BY cohort
    ), back AS (
        SELECT c.cohort, v.mi - c.cohort AS k, count(DISTINCT v.member) AS n
        FROM cohort_members c JOIN v ON v.member = c.member AND v.mi > c.cohort
        GROUP BY c.cohort, v.mi - c.cohort
    )
    SELECT make_date(((s.cohort - 1) / 12)::int, ((s.cohort - 1) % 12 + 1)::int, 1) AS month,
           s.size::int AS size,
           coalesce((SELECT array_agg(coalesce(b.n, 0)::float8 / s.size ORDER BY k.k)
                     FROM generate_series(1, :last_mi - s.cohort) k(k)
                     LEFT JOIN back b ON b.cohort = s.cohort AND b.k = k.k),
                    '{}') AS returned,
           (sum(s.repeaters) OVER ())::float8 / (sum(s.size) OVER ()) AS repeat_rate
    FROM sizes s
    ORDER BY s.cohort
    """
)


def month_index(day: date) -> int:
    """Months since year 0 (as the retention statement counts them)."""
    return day.year * 12 + day.month


async def retention_cohorts(
    conn: AsyncConnection, merchant_id: int, zone: str, first_month: date, last_month: date
) -> list[CohortRow]:
    """Monthly cohorts by first visit from ``first_month`` to ``last_month`` (first days)."""
    result = await conn.execute(
        _RETENTION,
        {
            "merchant_id": merchant_id,
            "zone": zone,
            "last_month": last_month,
            "first_mi": month_index(first_month),
            "last_mi": month_index(last_month),
        },
    )
    return [
        CohortRow(row.month, row.size, list(row.returned), float(row.repeat_rate)) for row in result
    ]
