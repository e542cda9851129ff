"""The membership types: ``Membership`` (the customer's view), ``Member`` (the merchant's,
pseudonymous), ``MemberFilter``, ``Segment``, ``MembershipProgram`` and ``Retention``."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from commerce.members.crm import Member as MemberView
from commerce.members.crm import size_of
from commerce.members.filters import MemberFilterValues, money
from commerce.members.retention import Retention as RetentionView
from commerce.members.visits import DEFAULT_CURRENCY
from db.members_sql import MembershipRow, ProgramRow, SegmentRow
from schema.ids import to_global_id
from schema.paging import CURSOR_DOC, PAGE_INFO_DOC, TOTAL_COUNT_DOC, PageInfo
from schema.types import ContextInfo, Merchant, Money, MoneyInput, Node


def _spend(row: MembershipRow) -> Money:
    return Money.of(row.total_spend, row.currency or DEFAULT_CURRENCY)


@strawberry.type(
    description="The signed-in customer's membership at one merchant: visits are voucher and"
    " coupon redemptions there since joining."
)
class Membership:
    row: strawberry.Private[MembershipRow]
    visits: int = strawberry.field(description="Redemptions at the merchant while a member.")
    total_spend: Money = strawberry.field(
        description="What those visits spent (the currency of the first visit; EUR before one)."
    )
    first_visit_at: datetime | None = strawberry.field(description="The first visit; null: none.")
    last_visit_at: datetime | None = strawberry.field(description="The latest visit; null: none.")
    points: int = strawberry.field(
        description="Points: per visit, spend times the program's points per unit, rounded down."
    )
    tier: str | None = strawberry.field(
        description="The highest tier of the program whose minPoints the points reach."
    )
    joined_at: datetime = strawberry.field(description="When the customer became a member.")
    auto_joined: bool = strawberry.field(
        description="True when the program enrolled the customer on a redemption (they had"
        " accepted auto-join), false when they joined themselves."
    )

    @classmethod
    def from_row(cls, row: MembershipRow) -> Membership:
        return cls(
            row=row,
            visits=row.visits,
            total_spend=_spend(row),
            first_visit_at=row.first_visit_at,
            last_visit_at=row.last_visit_at,
            points=row.points,
            tier=row.tier,
            joined_at=row.joined_at,
            auto_joined=row.joined_how == "AUTO",
        )

    @strawberry.field(description="The merchant of this membership.")
    async def merchant(self, info: ContextInfo) -> Merchant:
        found = await info.context.loaders.merchant.load(self.row.merchant_id)
        if found is None:
            raise LookupError(f"merchant {self.row.merchant_id} vanished")
        return Merchant.from_row(found)


@strawberry.type(description="A member as the merchant's owner and managers see them.")
class Member:
    customer_ref: str = strawberry.field(
        description="A stable pseudonym of the customer (the same as in Merchant.orders);"
        " never their account."
    )
    visits: int = strawberry.field(description="Redemptions at the merchant while a member.")
    total_spend: Money = strawberry.field(description="What those visits spent.")
    first_visit_at: datetime | None = strawberry.field(description="The first visit; null: none.")
    last_visit_at: datetime | None = strawberry.field(description="The latest visit; null: none.")
    points: int = strawberry.field(description="The member's points.")
    tier: str | None = strawberry.field(description="The member's tier; null below every tier.")
    joined_at: datetime = strawberry.field(description="When they became a member.")

    @classmethod
    def of(cls, view: MemberView) -> Member:
        row = view.membership
        return cls(
            customer_ref=view.customer_ref,
            visits=row.visits,
            total_spend=_spend(row),
            first_visit_at=row.first_visit_at,
            last_visit_at=row.last_visit_at,
            points=row.points,
            tier=row.tier,
            joined_at=row.joined_at,
        )


@strawberry.type(description="An edge of a merchant's member list.")
class MemberEdge:
    cursor: str = strawberry.field(description=CURSOR_DOC)
    node: Member = strawberry.field(description="The member.")


@strawberry.type(description="A merchant's current members, newest membership first.")
class MemberConnection:
    edges: list[MemberEdge] = strawberry.field(description="This page.")
    page_info: PageInfo = strawberry.field(description=PAGE_INFO_DOC)
    total_count: int = strawberry.field(description=TOTAL_COUNT_DOC)


@strawberry.input(description="Which members: every field given narrows (all must hold).")
class MemberFilter:
    min_visits: int | None = strawberry.field(
        default=None, description="At least this many visits (0 to 1 000 000)."
    )
    min_spend: MoneyInput | None = strawberry.field(
        default=None, description="At least this total spend, in this currency."
    )
    last_visit_before: datetime | None = strawberry.field(
        default=None, description="Last visit before this instant (who has not come back)."
    )
    last_visit_after: datetime | None = strawberry.field(
        default=None, description="Last visit at or after this instant."
    )
    tier: str | None = strawberry.field(default=None, description="Only members of this tier.")

    def values(self, argument: str = "filter") -> MemberFilterValues:
        spend = self.min_spend
        return MemberFilterValues(
            min_visits=self.min_visits,
            min_spend=None if spend is None else money(f"{argument}.minSpend", spend.amount),
            spend_currency=None if spend is None else spend.currency,
            last_visit_before=self.last_visit_before,
            last_visit_after=self.last_visit_after,
            tier=self.tier,
        )


@strawberry.type(description="A saved member filter, as stored.")
class MemberFilterValue:
    min_visits: int | None = strawberry.field(description="At least this many visits.")
    min_spend: Money | None = strawberry.field(description="At least this total spend.")
    last_visit_before: datetime | None = strawberry.field(description="Last visit before this.")
    last_visit_after: datetime | None = strawberry.field(description="Last visit at or after.")
    tier: str | None = strawberry.field(description="Only this tier.")


@strawberry.type(
    description="A merchant's saved group of members: its filter is applied whenever it is"
    " used, so members who leave or stop matching are out at once."
)
class Segment(Node):
    row: strawberry.Private[SegmentRow]
    name: str = strawberry.field(description="Its name, unique at the merchant.")
    updated_at: datetime = strawberry.field(description="When the filter was last saved.")

    @classmethod
    def from_row(cls, row: SegmentRow) -> Segment:
        return cls(
            id=strawberry.ID(to_global_id("Segment", row.id)),
            row=row,
            name=row.name,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The filter that defines it.")
    def filter(self) -> MemberFilterValue:
        from commerce.members.filters import from_json

        values = from_json(self.row.filter)
        spend = values.min_spend
        return MemberFilterValue(
            min_visits=values.min_visits,
            min_spend=None
            if spend is None
            else Money.of(spend, values.spend_currency or DEFAULT_CURRENCY),
            last_visit_before=values.last_visit_before,
            last_visit_after=values.last_visit_after,
            tier=values.tier,
        )

    @strawberry.field(description="How many current members it holds now.")
    async def size(self, info: ContextInfo) -> int:
        return await size_of(info.context.database, self.row)


@strawberry.type(description="A tier of a membership program.")
class MembershipTier:
    name: str = strawberry.field(description="The tier's name, e.g. GOLD.")
    min_points: int = strawberry.field(description="Points a member needs to reach it.")


@strawberry.input(description="A tier of a membership program.")
class MembershipTierInput:
    name: str = strawberry.field(description="The tier's name (1 to 40 characters, distinct).")
    min_points: int = strawberry.field(description="Points needed (0 to 10^12, distinct).")


@strawberry.type(description="A merchant's membership program.")
class MembershipProgram:
    auto_join: bool = strawberry.field(
        description="Customers who accepted auto-join (acceptAutoJoin) become members on"
        " their first redemption here."
    )
    points_per_unit: str = strawberry.field(
        description="Points per currency unit spent, a decimal string; rounded down per visit."
    )
    tiers: list[MembershipTier] = strawberry.field(description="Tiers by minPoints, ascending.")

    @classmethod
    def from_row(cls, row: ProgramRow) -> MembershipProgram:
        return cls(
            auto_join=row.auto_join,
            points_per_unit=str(row.points_per_unit.normalize()),
            tiers=[
                MembershipTier(name=str(t["name"]), min_points=int(t["minPoints"]))
                for t in row.tiers
            ],
        )


@strawberry.type(description="The members whose first visit fell in one month.")
class RetentionCohort:
    month: date = strawberry.field(description="The month's first day (merchant's zone).")
    size: int = strawberry.field(description="Current members whose first visit was then.")
    returned: list[float] = strawberry.field(
        description="Per later month up to the period's last, the share (0 to 1) of the"
        " cohort with a visit in it: returned[0] is the next month."
    )


@strawberry.type(description="Monthly cohorts of current members by first visit.")
class Retention:
    cohorts: list[RetentionCohort] = strawberry.field(description="Cohorts by month, oldest first.")
    repeat_rate: float = strawberry.field(
        description="The share (0 to 1) of the cohorts' members with two visits or more up to"
        " the end of the period's last month; 0 without members."
    )

    @classmethod
    def of(cls, view: RetentionView) -> Retention:
        return cls(
            cohorts=[
                RetentionCohort(month=c.month, size=c.size, returned=c.returned)
                for c in view.cohorts
            ],
            repeat_rate=view.repeat_rate,
        )
