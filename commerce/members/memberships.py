"""Joining and leaving a merchant's membership, the auto-join consent, the program.

- ``joinMembership``: any signed-in customer, explicitly; joining twice is harmless.
- Consent: a customer accepts (or withdraws) auto-join per merchant (``acceptAutoJoin``,
  a ``membership_consents`` row). With the merchant's program on ``auto_join``, their next
  redemption there enrols them (``visits.py``). Without consent nobody is enrolled.
- ``leaveMembership``: the membership and its visits are deleted and their figures added to
  the merchant's anonymous aggregate (``membership_aggregates``: no subject), so the person
  leaves every segment, member list, count and retention cohort at once; their auto-join
  consent is withdrawn as well.
- The program (OWNER, MANAGER): auto-join, points per currency unit (rounded down per
  visit) and tier thresholds; saving it re-grades the members' tiers.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from commerce.errors import NotFoundError, UserInputError
from commerce.identity import roles
from commerce.identity.principal import Principal
from commerce.merchants import audit
from db import members_sql
from db.database import Database
from db.members_sql import MembershipRow, ProgramRow

MAX_MEMBERSHIPS_LISTED = 200
MAX_TIERS = 10
MAX_RATE = Decimal(1000)
MAX_TIER_POINTS = 10**12


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    min_points: int


async def join(database: Database, principal: Principal, merchant_id: int) -> MembershipRow:
    """The caller's membership at the merchant, joining now unless they are a member."""
    async with database.write() as conn:
        if not await members_sql.merchant_exists(conn, merchant_id):
            raise NotFoundError("no Merchant with this ID")
        await members_sql.insert_membership(conn, merchant_id, principal.subject, "EXPLICIT")
        membership = await members_sql.membership_of(conn, merchant_id, principal.subject)
    assert membership is not None
    return membership


async def leave(database: Database, principal: Principal, merchant_id: int) -> bool:
    """Leave the merchant's membership; False when the caller was not a member."""
    async with database.write() as conn:
        membership = await members_sql.lock_membership(conn, merchant_id, principal.subject)
        if membership is None:
            await members_sql.set_consent(conn, merchant_id, principal.subject, False)
            return False
        await members_sql.forget_member(conn, membership)
    return True


async def accept_auto_join(
    database: Database, principal: Principal, merchant_id: int, accept: bool
) -> bool:
    """Record whether the caller accepts to be enrolled by the merchant on a redemption."""
    async with database.write() as conn:
        if not await members_sql.merchant_exists(conn, merchant_id):
            raise NotFoundError("no Merchant with this ID")
        await members_sql.set_consent(conn, merchant_id, principal.subject, accept)
    return accept


async def my_memberships(database: Database, principal: Principal) -> list[MembershipRow]:
    """The caller's memberships, most recent first (at most 200)."""
    async with database.read() as conn:
        return await members_sql.memberships_of_subject(
            conn, principal.subject, MAX_MEMBERSHIPS_LISTED
        )


async def program(database: Database, merchant_id: int) -> ProgramRow | None:
    """The merchant's program (public: customers decide on auto-join by it)."""
    async with database.read() as conn:
        return await members_sql.program_of(conn, merchant_id)


async def save_program(
    database: Database,
    principal: Principal,
    merchant_id: int,
    auto_join: bool,
    points_per_unit: Decimal,
    tiers: list[Tier],
) -> ProgramRow:
    """Create or replace the merchant's program (OWNER, MANAGER), kept in the staff audit."""
    saved = ProgramRow(merchant_id, auto_join, _rate(points_per_unit), _tiers(tiers))
    async with database.write() as conn:
        if not await members_sql.merchant_exists(conn, merchant_id):
            raise NotFoundError("no Merchant with this ID")
        roles.require(principal, "manage_members", merchant_id)
        before = await members_sql.program_of(conn, merchant_id)
        await members_sql.save_program(conn, saved)
        await audit.record(
            conn,
            principal,
            action="save_membership_program",
            entity="membership_program",
            entity_id=merchant_id,
            merchant_id=merchant_id,
            before=None if before is None else _audited(before),
            after=_audited(saved),
        )
    return saved


def _audited(row: ProgramRow) -> dict[str, object]:
    return {
        "auto_join": row.auto_join,
        "points_per_unit": str(row.points_per_unit),
        "tiers": row.tiers,
    }


def _rate(rate: Decimal) -> Decimal:
    if not rate.is_finite() or not 0 <= rate <= MAX_RATE or rate != round(rate, 4):
        raise UserInputError(
            "input.pointsPerUnit", f"pointsPerUnit is 0 to {MAX_RATE} with at most 4 decimals"
        )
    return rate


def _tiers(tiers: list[Tier]) -> list[dict[str, object]]:
    if len(tiers) > MAX_TIERS:
        raise UserInputError("input.tiers", f"at most {MAX_TIERS} tiers")
    names = [tier.name.strip() for tier in tiers]
    if any(not 1 <= len(name) <= 40 for name in names) or len(set(names)) != len(names):
        raise UserInputError("input.tiers", "tier names are 1 to 40 characters and distinct")
    thresholds = [tier.min_points for tier in tiers]
    if any(not 0 <= points <= MAX_TIER_POINTS for points in thresholds):
        raise UserInputError("input.tiers", f"minPoints is 0 to {MAX_TIER_POINTS}")
    if len(set(thresholds)) != len(thresholds):
        raise UserInputError("input.tiers", "each tier needs its own minPoints")
    ordered = sorted(zip(thresholds, names, strict=True))
    return [{"name": name, "minPoints": points} for points, name in ordered]
