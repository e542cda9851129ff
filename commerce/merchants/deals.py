"""Deals by their merchant's staff (MANAGER and up): ``createDeal`` makes a DRAFT,
``updateDeal`` changes it at the version the caller read, ``publishDeal`` / ``pauseDeal`` /
``endDeal`` move it through its lifecycle.

- A deal is on offer only while PUBLISHED (``domain/offer.py``); the search outbox hears of
  every status change through migration 0008's trigger, so discovery follows within a
  publisher round.
- Every write locks the deal's row first (the lock ``bookDeal`` takes), compares
  ``expectedVersion`` under it, and moves to the next version; a stale version is
  ``VersionConflict`` and nothing changes. Every write is kept in the staff audit, in the
  same transaction.
- A role that may not manage deals, or staff of another merchant, get ``NotAllowed``.
- Changing ``totalQuantity`` keeps the units already held or sold: the remaining units are
  the new total minus those, and a total below them is ``InvalidInput``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.errors import ForbiddenError, NotFoundError, UserInputError, input_argument
from commerce.identity import roles
from commerce.identity.principal import Principal
from commerce.merchants import audit
from commerce.merchants.deal_terms import DealTerms, MoneyValue, check_terms, misfit, values_of
from commerce.merchants.stores import UNSET, Unset
from commerce.outcomes import DealOutcome, DealSaved, InvalidInput, NotAllowed, VersionConflict
from db import bookings_sql, deals_sql, merchants_sql
from db.database import Database
from db.deals_sql import Stock
from db.rows import DealRow
from domain.offer import LIFECYCLE_VERBS, DealStatus

Refusal = InvalidInput | VersionConflict | NotAllowed
"""Why a deal write changed nothing."""

# which statuses each lifecycle move starts from
MOVES: dict[DealStatus, frozenset[DealStatus]] = {
    DealStatus.PUBLISHED: frozenset({DealStatus.DRAFT, DealStatus.PAUSED}),
    DealStatus.PAUSED: frozenset({DealStatus.PUBLISHED}),
    DealStatus.ENDED: frozenset({DealStatus.DRAFT, DealStatus.PUBLISHED, DealStatus.PAUSED}),
}


@dataclass(frozen=True, slots=True)
class DealRequest:
    """``createDeal``'s input."""

    merchant_id: int
    terms: DealTerms


@dataclass(frozen=True, slots=True)
class DealChanges:
    """``updateDeal``'s input: UNSET leaves a field as it is; None clears a nullable field
    and is ``BAD_USER_INPUT`` for the others."""

    deal_id: int
    expected_version: int
    title: str | Unset | None = UNSET
    description: str | Unset | None = UNSET
    category_slug: str | Unset | None = UNSET
    price: MoneyValue | Unset | None = UNSET
    original_price: MoneyValue | Unset | None = UNSET
    store_ids: tuple[int, ...] | Unset | None = UNSET
    sale_starts_at: datetime | Unset | None = UNSET
    sale_ends_at: datetime | Unset | None = UNSET
    voucher_valid_days: int | Unset | None = UNSET
    total_quantity: int | Unset | None = UNSET
    per_user_limit: int | Unset | None = UNSET
    requires_booking: bool | Unset | None = UNSET
    usage_rules: str | Unset | None = UNSET


async def create_deal(
    database: Database, principal: Principal, request: DealRequest, now: datetime
) -> DealOutcome:
    terms = check_terms(request.terms)
    async with database.write() as conn:
        if not await merchants_sql.merchant_exists(conn, request.merchant_id):
            raise NotFoundError("no Merchant with this ID")
        refusal: Refusal | None = not_allowed(principal, "manage_deals", request.merchant_id)
        refusal = refusal or misfit(terms, now)
        refusal = refusal or await _catalogue_misfit(conn, request.merchant_id, terms)
        if refusal is not None:
            return refusal
        total = terms.total_quantity
        row = await deals_sql.insert_deal(
            conn,
            request.merchant_id,
            f"api:{uuid.uuid4().hex}",
            values_of(terms),
            Stock(total_quantity=total, remaining_quantity=total),
            DealStatus.DRAFT.value,
        )
        await deals_sql.set_deal_stores(conn, row.id, terms.store_ids)
        await audit.record_change(
            conn, principal, "create_deal", "deal", (None, row), (None, terms.store_ids)
        )
    return DealSaved(row)


async def update_deal(
    database: Database, principal: Principal, changes: DealChanges, now: datetime
) -> DealOutcome:
    check_version(changes.expected_version)
    _check_given(changes)
    async with database.write() as conn:
        current = await locked_deal(conn, changes.deal_id)
        refusal: Refusal | None = not_allowed(principal, "manage_deals", current.merchant_id)
        refusal = refusal or stale(current, changes.expected_version)
        if refusal is not None:
            return refusal
        if current.status == DealStatus.ENDED.value:
            return InvalidInput("an ended deal cannot be changed", "input.dealId")
        stores_before = tuple(await bookings_sql.deal_store_ids(conn, current.id))
        terms = _changed_terms(current, stores_before, changes)
        if terms is None:
            return InvalidInput("nothing to change: give at least one field", "input")
        terms = check_terms(terms)
        refusal = misfit(terms, now) or await _catalogue_misfit(conn, current.merchant_id, terms)
        if refusal is not None:
            return refusal
        stock = await _stock_after(conn, current, terms.total_quantity)
        if isinstance(stock, InvalidInput):
            return stock
        row = await deals_sql.update_deal(conn, current.id, values_of(terms), stock)
        await deals_sql.set_deal_stores(conn, current.id, terms.store_ids)
        await audit.record_change(
            conn,
            principal,
            "update_deal",
            "deal",
            (current, row),
            (stores_before, terms.store_ids),
        )
    return DealSaved(row)


async def move_deal(
    database: Database,
    principal: Principal,
    deal_id: int,
    expected_version: int,
    target: DealStatus,
    now: datetime,
) -> DealOutcome:
    """``publishDeal`` / ``pauseDeal`` / ``endDeal``: one lifecycle step."""
    check_version(expected_version)
    async with database.write() as conn:
        current = await locked_deal(conn, deal_id)
        refusal: Refusal | None = not_allowed(principal, "manage_deals", current.merchant_id)
        refusal = refusal or stale(current, expected_version)
        refusal = refusal or _move_refusal(current, target, now)
        if refusal is None and target is DealStatus.PUBLISHED:
            refusal = await _storeless(conn, current)
        if refusal is not None:
            return refusal
        row = await deals_sql.set_status(conn, current.id, target.value)
        await audit.record_change(
            conn, principal, f"{LIFECYCLE_VERBS[target]}_deal", "deal", (current, row)
        )
    return DealSaved(row)


def _move_refusal(current: DealRow, target: DealStatus, now: datetime) -> InvalidInput | None:
    status = DealStatus(current.status)
    if status not in MOVES[target]:
        return InvalidInput(
            f"a {status.value} deal cannot be {target.value}: "
            f"{LIFECYCLE_VERBS[target]} starts from "
            + " or ".join(sorted(s.value for s in MOVES[target])),
            "input.dealId",
        )
    if target is DealStatus.PUBLISHED and current.valid_until <= now:
        return InvalidInput(
            "the sale window is over: move saleEndsAt with updateDeal first", "input.dealId"
        )
    return None


async def _storeless(conn: AsyncConnection, current: DealRow) -> InvalidInput | None:
    if await bookings_sql.deal_store_ids(conn, current.id):
        return None
    return InvalidInput("a deal needs a store before it is published", "input.dealId")


def sees_unpublished(principal: Principal | None, merchant_id: int) -> bool:
    """Whether the caller may see the merchant's deals that are not on sale (drafts above
    all): those who manage its deals. Everybody else sees published ones only."""
    return roles.can(principal, "manage_deals", merchant_id)


def check_version(expected: int) -> None:
    if expected < 1:
        raise UserInputError("input.expectedVersion", "expectedVersion starts at 1")


def not_allowed(principal: Principal, action: roles.Action, merchant_id: int) -> NotAllowed | None:
    """``NotAllowed`` naming the missing right when the caller may not do ``action``."""
    try:
        roles.require(principal, action, merchant_id)
    except ForbiddenError as error:
        return NotAllowed(error.message)
    return None


def stale(current: DealRow, expected: int) -> VersionConflict | None:
    if current.version == expected:
        return None
    return VersionConflict(
        f"the deal is at version {current.version}: read it again and retry", current.version
    )


async def locked_deal(conn: AsyncConnection, deal_id: int) -> DealRow:
    current = await deals_sql.lock_deal(conn, deal_id)
    if current is None:
        raise NotFoundError("no Deal with this ID")
    return current


_NOT_NULL = (
    "title",
    "description",
    "price",
    "store_ids",
    "sale_starts_at",
    "sale_ends_at",
    "per_user_limit",
    "requires_booking",
)


def _check_given(changes: DealChanges) -> None:
    """Fields that may be left out but not cleared."""
    for name in _NOT_NULL:
        if getattr(changes, name) is None:
            argument = input_argument(name)
            raise UserInputError(argument, f"{argument} cannot be null; leave it out to keep it")


def _changed_terms(
    current: DealRow, store_ids: tuple[int, ...], changes: DealChanges
) -> DealTerms | None:
    """The deal's terms after ``changes``; None when no field is given."""
    given = {
        f.name: getattr(changes, f.name)
        for f in fields(DealTerms)
        if not isinstance(getattr(changes, f.name), Unset)
    }
    if not given:
        return None
    return replace(_terms_of(current, store_ids), **given)


def _terms_of(row: DealRow, store_ids: tuple[int, ...]) -> DealTerms:
    original = row.original_price
    return DealTerms(
        title=row.title,
        description=row.description,
        category_slug=row.category_slug,
        price=MoneyValue(str(row.price), row.currency),
        original_price=None if original is None else MoneyValue(str(original), row.currency),
        store_ids=store_ids,
        sale_starts_at=row.valid_from,
        sale_ends_at=row.valid_until,
        voucher_valid_days=row.voucher_valid_days,
        total_quantity=row.total_quantity,
        per_user_limit=row.per_user_limit,
        requires_booking=row.requires_booking,
        usage_rules=row.usage_rules,
    )


async def _catalogue_misfit(
    conn: AsyncConnection, merchant_id: int, terms: DealTerms
) -> InvalidInput | None:
    slug = terms.category_slug
    if slug is not None and not await merchants_sql.category_exists(conn, slug):
        return InvalidInput(f"no category {slug!r}", "input.categorySlug")
    own = await deals_sql.store_ids_of_merchant(conn, merchant_id, terms.store_ids)
    foreign = [store_id for store_id in terms.store_ids if store_id not in own]
    if foreign:
        return InvalidInput("a deal is valid only at its own merchant's stores", "input.storeIds")
    return None


async def _stock_after(
    conn: AsyncConnection, current: DealRow, total: int | None
) -> Stock | InvalidInput:
    """The stock after setting the total to ``total``: the units held or sold stay taken."""
    if total == current.total_quantity:
        return Stock(current.total_quantity, current.remaining_quantity)
    if total is None:
        return Stock(None, None)
    if current.total_quantity is not None and current.remaining_quantity is not None:
        taken = current.total_quantity - current.remaining_quantity
    else:
        taken = await deals_sql.active_quantity(conn, current.id)
    if total < taken:
        return InvalidInput(
            f"{taken} units are already held or sold: totalQuantity must be at least that",
            "input.totalQuantity",
        )
    return Stock(total, total - taken)
