"""``Merchant.retention(from, to)`` (OWNER, MANAGER): monthly cohorts of current members by
their first visit, and how many came back in each later month.

Months are calendar months in the merchant's zone (its first store's; UTC without stores)
from ``from``'s month to ``to``'s month, at most 36. A cohort's ``returned[k-1]`` is the
share of its members with a visit k months after their first month (up to ``to``'s month);
``repeatRate`` is the share of all the cohorts' members with two visits or more up to the end
of ``to``'s month. One SQL statement computes it (``db/members_sql.py``). Members who left
are not counted: their visits left with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from commerce.errors import UserInputError
from commerce.identity import roles
from commerce.identity.principal import Principal
from db import members_sql, orders_sql
from db.database import Database
from db.members_sql import CohortRow

MAX_MONTHS = 36


@dataclass(frozen=True, slots=True)
class Retention:
    cohorts: list[CohortRow]
    repeat_rate: float


async def retention(
    database: Database, principal: Principal, merchant_id: int, first_day: date, last_day: date
) -> Retention:
    """The cohorts from ``first_day``'s month to ``last_day``'s month."""
    if last_day < first_day:
        raise UserInputError("to", "to must not be before from")
    first_month, last_month = first_day.replace(day=1), last_day.replace(day=1)
    months = members_sql.month_index(last_month) - members_sql.month_index(first_month) + 1
    if months > MAX_MONTHS:
        raise UserInputError("to", f"at most {MAX_MONTHS} months")
    roles.require(principal, "manage_members", merchant_id)
    async with database.read() as conn:
        zone = await orders_sql.first_store_zone(conn, merchant_id) or "UTC"
        cohorts = await members_sql.retention_cohorts(
            conn, merchant_id, zone, first_month, last_month
        )
    rate = cohorts[0].repeat_rate if cohorts else 0.0
    return Retention(cohorts, rate)
