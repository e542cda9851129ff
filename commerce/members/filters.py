"""The member filter (``MemberFilter``): checked once, stored as JSON in a segment, turned
into the SQL criteria of ``db/members_sql.py``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from commerce.errors import UserInputError
from db.members_sql import MemberCriteria

MAX_VISITS = 1_000_000
MAX_SPEND = Decimal("9999999999.99")
MAX_TIER = 40


@dataclass(frozen=True, slots=True)
class MemberFilterValues:
    """Which members: every set field narrows (all must hold)."""

    min_visits: int | None = None
    min_spend: Decimal | None = None
    spend_currency: str | None = None
    last_visit_before: datetime | None = None
    last_visit_after: datetime | None = None
    tier: str | None = None

    def criteria(self, merchant_id: int) -> MemberCriteria:
        """The SQL criteria of this filter for one merchant's members."""
        return MemberCriteria(
            merchant_id=merchant_id,
            min_visits=self.min_visits,
            min_spend=self.min_spend,
            spend_currency=self.spend_currency,
            last_visit_before=self.last_visit_before,
            last_visit_after=self.last_visit_after,
            tier=self.tier,
        )


def checked(values: MemberFilterValues, argument: str = "filter") -> MemberFilterValues:
    """``values`` if they make sense, else ``BAD_USER_INPUT`` naming the field."""
    if values.min_visits is not None and not 0 <= values.min_visits <= MAX_VISITS:
        raise UserInputError(f"{argument}.minVisits", f"minVisits is 0 to {MAX_VISITS}")
    if values.min_spend is not None:
        if not values.min_spend.is_finite() or not 0 <= values.min_spend <= MAX_SPEND:
            raise UserInputError(f"{argument}.minSpend", f"minSpend is 0 to {MAX_SPEND}")
        if values.spend_currency is None or not _is_currency(values.spend_currency):
            raise UserInputError(f"{argument}.minSpend", "minSpend needs an ISO 4217 currency")
    for name, moment in (
        ("lastVisitBefore", values.last_visit_before),
        ("lastVisitAfter", values.last_visit_after),
    ):
        if moment is not None and moment.tzinfo is None:
            raise UserInputError(f"{argument}.{name}", f"{name} needs a UTC offset")
    if values.tier is not None and not 1 <= len(values.tier) <= MAX_TIER:
        raise UserInputError(f"{argument}.tier", f"tier is 1 to {MAX_TIER} characters")
    return values


def to_json(values: MemberFilterValues) -> dict[str, Any]:
    """The filter as stored in ``member_segments.filter`` (GraphQL field names)."""
    stored: dict[str, Any] = {}
    if values.min_visits is not None:
        stored["minVisits"] = values.min_visits
    if values.min_spend is not None:
        stored["minSpend"] = {"amount": str(values.min_spend), "currency": values.spend_currency}
    if values.last_visit_before is not None:
        stored["lastVisitBefore"] = values.last_visit_before.isoformat()
    if values.last_visit_after is not None:
        stored["lastVisitAfter"] = values.last_visit_after.isoformat()
    if values.tier is not None:
        stored["tier"] = values.tier
    return stored


def from_json(stored: dict[str, Any]) -> MemberFilterValues:
    """A stored filter back as values (written by :func:`to_json`)."""
    spend = stored.get("minSpend")
    before = stored.get("lastVisitBefore")
    after = stored.get("lastVisitAfter")
    return MemberFilterValues(
        min_visits=stored.get("minVisits"),
        min_spend=None if spend is None else Decimal(spend["amount"]),
        spend_currency=None if spend is None else spend["currency"],
        last_visit_before=None if before is None else datetime.fromisoformat(before),
        last_visit_after=None if after is None else datetime.fromisoformat(after),
        tier=stored.get("tier"),
    )


def money(argument: str, amount: str) -> Decimal:
    """A money amount typed by a client, as a Decimal (``BAD_USER_INPUT`` if it is none)."""
    try:
        value = Decimal(amount)
    except (InvalidOperation, ValueError) as error:
        raise UserInputError(argument, "the amount is not a decimal number") from error
    if not value.is_finite():
        raise UserInputError(argument, "the amount is not a decimal number")
    return value


def _is_currency(code: str) -> bool:
    return len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()
