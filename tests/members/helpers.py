"""What the membership tests share: queries, staff tokens by role, the program, and visits
recorded through ``record_visit`` on a real database connection."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from commerce.members.visits import record_visit
from db.database import Database, DatabaseConfig
from tests.conftest import GraphQL
from tests.orders.fixtures import Caller, Shop, token

MEMBERSHIP_FIELDS = """visits totalSpend { amount currency } firstVisitAt lastVisitAt points
  tier autoJoined merchant { id }"""
JOIN = f"""mutation($input: JoinMembershipInput!) {{
  joinMembership(input: $input) {{ {MEMBERSHIP_FIELDS} }} }}"""
LEAVE = """mutation($input: LeaveMembershipInput!) { leaveMembership(input: $input) }"""
ACCEPT = """mutation($input: AcceptAutoJoinInput!) { acceptAutoJoin(input: $input) }"""
MY_MEMBERSHIPS = f"""{{ me {{ memberships {{ {MEMBERSHIP_FIELDS} }} }} }}"""
SET_PROGRAM = """mutation($input: SetMembershipProgramInput!) {
  setMembershipProgram(input: $input) { autoJoin pointsPerUnit tiers { name minPoints } } }"""
MEMBERS = """query($id: ID!, $filter: MemberFilter, $first: Int, $after: String) {
  merchant(id: $id) { members(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { customerRef visits totalSpend { amount currency } points tier
      firstVisitAt lastVisitAt joinedAt } } } } }"""
SAVE_SEGMENT = """mutation($input: SaveSegmentInput!) { saveSegment(input: $input) {
  id name size filter { minVisits minSpend { amount currency } tier lastVisitBefore } } }"""
SEGMENTS = """query($id: ID!) { merchant(id: $id) { segments { id name size } } }"""
RETENTION = """query($id: ID!, $from: Date!, $to: Date!) { merchant(id: $id) {
  retention(from: $from, to: $to) { repeatRate cohorts { month size returned } } } }"""


def member_of(gql: GraphQL) -> Caller:
    """A new customer."""
    subject = f"user-{uuid.uuid4().hex[:10]}"
    return Caller(gql, token(subject), subject)


def staff_as(gql: GraphQL, shop: Shop, role: str) -> Caller:
    """A staff member of ``shop``'s merchant with ``role`` (owner, manager, cashier)."""
    subject = f"staff-{role}-{uuid.uuid4().hex[:8]}"
    return Caller(gql, token(subject, "merchant", shop.merchant_id, staff_role=role), subject)


async def set_program(
    gql: GraphQL, shop: Shop, auto_join: bool, rate: str, tiers: list[tuple[str, int]]
) -> dict[str, Any]:
    owner = staff_as(gql, shop, "owner")
    values = {
        "merchantId": shop.merchant,
        "autoJoin": auto_join,
        "pointsPerUnit": rate,
        "tiers": [{"name": name, "minPoints": points} for name, points in tiers],
    }
    data = await owner.data(SET_PROGRAM, {"input": values})
    program: dict[str, Any] = data["setMembershipProgram"]
    return program


@asynccontextmanager
async def database(url: str) -> AsyncIterator[Database]:
    """A small pool of our own, for calling commerce functions inside a transaction."""
    found = Database(DatabaseConfig(url=url, pool_size=2, max_overflow=0))
    try:
        yield found
    finally:
        await found.dispose()


async def visit(
    db: Database, shop: Shop, subject: str, spend: str, at: datetime, source_id: int | None = None
) -> None:
    """One visit of ``subject`` at ``shop``'s merchant, as a coupon redemption reports it."""
    async with db.write() as conn:
        await record_visit(
            conn,
            shop.merchant_id,
            subject,
            Decimal(spend),
            at,
            source="OTHER",
            source_id=source_id,
        )
