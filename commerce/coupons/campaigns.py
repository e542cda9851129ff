"""Coupon campaigns by their merchant's staff (OWNER, MANAGER: ``manage_coupons``):
``createCoupon`` makes a DRAFT, ``updateCoupon`` changes it at the version the caller read,
``publishCoupon`` / ``pauseCoupon`` / ``endCoupon`` move it through the deal lifecycle
(``commerce/merchants/deals.py`` ``MOVES``).

- Every write locks the coupon's row first (the lock ``claimCoupon`` takes), compares
  ``expectedVersion`` under it and moves to the next version; a stale version is
  ``VersionConflict``. Every write is kept in the staff audit, in the same transaction.
- Only a PUBLISHED coupon inside its window can be claimed, is listed in
  ``Merchant.coupons`` for everybody and found by ``nearbyCoupons``.
- Changing ``totalQuantity`` keeps the units already claimed: the remaining units are the
  new total minus those, and a total below them is ``InvalidInput``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.coupons.terms import CouponTerms, check_terms, misfit, values_of
from commerce.errors import NotFoundError, UserInputError, input_argument
from commerce.identity import roles
from commerce.identity.principal import Principal
from commerce.merchants import audit
from commerce.merchants.deal_terms import MoneyValue
from commerce.merchants.deals import MOVES, check_version, not_allowed
from commerce.merchants.stores import UNSET, Unset
from commerce.outcomes import CouponOutcome, CouponSaved, InvalidInput, NotAllowed, VersionConflict
from db import coupons_sql, deals_sql, members_sql, merchants_sql
from db.coupon_rows import CouponRow
from db.coupons_sql import CouponStock
from db.database import Database
from domain.offer import LIFECYCLE_VERBS, DealStatus

Refusal = InvalidInput | VersionConflict | NotAllowed


@dataclass(frozen=True, slots=True)
class CouponChanges:
    """``updateCoupon``'s input: UNSET leaves a field as it is; None clears a nullable field
    (minBill, totalQuantity) and is ``BAD_USER_INPUT`` for the others."""

    coupon_id: int
    expected_version: int
    title: str | Unset | None = UNSET
    kind: str | Unset | None = UNSET
    value: str | Unset | None = UNSET
    currency: str | Unset | None = UNSET
    min_bill: MoneyValue | Unset | None = UNSET
    valid_from: datetime | Unset | None = UNSET
    valid_until: datetime | Unset | None = UNSET
    store_ids: tuple[int, ...] | Unset | None = UNSET
    total_quantity: int | Unset | None = UNSET
    per_user_limit: int | Unset | None = UNSET
    audience: str | Unset | None = UNSET
    segment_id: int | Unset | None = UNSET


_NULLABLE = frozenset({"min_bill", "total_quantity", "segment_id", "currency", "value"})


async def create_coupon(
    database: Database, principal: Principal, merchant_id: int, terms: CouponTerms, now: datetime
) -> CouponOutcome:
    terms = check_terms(terms)
    async with database.write() as conn:
        if not await merchants_sql.merchant_exists(conn, merchant_id):
            raise NotFoundError("no Merchant with this ID")
        refusal: Refusal | None = not_allowed(principal, "manage_coupons", merchant_id)
        refusal = refusal or misfit(terms, now)
        refusal = refusal or await _foreign_stores(conn, merchant_id, terms)
        if refusal is not None:
            return refusal
        total = terms.total_quantity
        row = await coupons_sql.insert_coupon(
            conn, merchant_id, values_of(terms), CouponStock(total, total)
        )
        await coupons_sql.set_coupon_stores(conn, row.id, terms.store_ids)
        await audit.record_change(
            conn, principal, "create_coupon", "coupon", (None, row), (None, terms.store_ids)
        )
    return CouponSaved(row)


async def update_coupon(
    database: Database, principal: Principal, changes: CouponChanges, now: datetime
) -> CouponOutcome:
    check_version(changes.expected_version)
    _check_given(changes)
    async with database.write() as conn:
        current = await locked_coupon(conn, changes.coupon_id)
        refusal: Refusal | None = not_allowed(principal, "manage_coupons", current.merchant_id)
        refusal = refusal or stale(current, changes.expected_version)
        if refusal is not None:
            return refusal
        if current.status == DealStatus.ENDED.value:
            return InvalidInput("an ended coupon cannot be changed", "input.couponId")
        stores_before = tuple(await coupons_sql.coupon_store_ids(conn, current.id))
        terms = _changed_terms(current, stores_before, changes)
        if terms is None:
            return InvalidInput("nothing to change: give at least one field", "input")
        terms = check_terms(terms)
        refusal = misfit(terms, now) or await _foreign_stores(conn, current.merchant_id, terms)
        if refusal is not None:
            return refusal
        stock = _stock_after(current, terms.total_quantity)
        if isinstance(stock, InvalidInput):
            return stock
        row = await coupons_sql.update_coupon(conn, current.id, values_of(terms), stock)
        await coupons_sql.set_coupon_stores(conn, current.id, terms.store_ids)
        await audit.record_change(
            conn,
            principal,
            "update_coupon",
            "coupon",
            (current, row),
            (stores_before, terms.store_ids),
        )
    return CouponSaved(row)


async def move_coupon(
    database: Database,
    principal: Principal,
    coupon_id: int,
    expected_version: int,
    target: DealStatus,
    now: datetime,
) -> CouponOutcome:
    """``publishCoupon`` / ``pauseCoupon`` / ``endCoupon``: one lifecycle step."""
    check_version(expected_version)
    async with database.write() as conn:
        current = await locked_coupon(conn, coupon_id)
        refusal: Refusal | None = not_allowed(principal, "manage_coupons", current.merchant_id)
        refusal = refusal or stale(current, expected_version)
        refusal = refusal or _move_refusal(current, target, now)
        if (
            refusal is None
            and target is DealStatus.PUBLISHED
            and not await coupons_sql.coupon_store_ids(conn, current.id)
        ):
            refusal = InvalidInput("a coupon needs a store before it is published", "input")
        if refusal is not None:
            return refusal
        row = await coupons_sql.set_status(conn, current.id, target.value)
        await audit.record_change(
            conn, principal, f"{LIFECYCLE_VERBS[target]}_coupon", "coupon", (current, row)
        )
    return CouponSaved(row)


def sees_unpublished(principal: Principal | None, merchant_id: int) -> bool:
    """Whether the caller sees the merchant's coupons that cannot be claimed (drafts,
    paused, ended, over): those who manage its coupons."""
    return roles.can(principal, "manage_coupons", merchant_id)


def visible(row: CouponRow, principal: Principal | None) -> bool:
    """Whether ``node(id)`` shows the coupon: anything but a draft, or to its managers."""
    return row.status != DealStatus.DRAFT.value or sees_unpublished(principal, row.merchant_id)


def _move_refusal(current: CouponRow, target: DealStatus, now: datetime) -> InvalidInput | None:
    status = DealStatus(current.status)
    if status not in MOVES[target]:
        return InvalidInput(
            f"a {status.value} coupon cannot be {target.value}: "
            f"{LIFECYCLE_VERBS[target]} starts from "
            + " or ".join(sorted(s.value for s in MOVES[target])),
            "input.couponId",
        )
    if target is DealStatus.PUBLISHED and current.valid_until <= now:
        return InvalidInput(
            "the coupon's validity is over: move validUntil with updateCoupon first",
            "input.couponId",
        )
    return None


def stale(current: CouponRow, expected: int) -> VersionConflict | None:
    if current.version == expected:
        return None
    return VersionConflict(
        f"the coupon is at version {current.version}: read it again and retry", current.version
    )


async def locked_coupon(conn: AsyncConnection, coupon_id: int) -> CouponRow:
    current = await coupons_sql.lock_coupon(conn, coupon_id)
    if current is None:
        raise NotFoundError("no Coupon with this ID")
    return current


def _check_given(changes: CouponChanges) -> None:
    for item in fields(CouponChanges):
        name = item.name
        if name in _NULLABLE or name in ("coupon_id", "expected_version"):
            continue
        if getattr(changes, name) is None:
            argument = input_argument(name)
            raise UserInputError(argument, f"{argument} cannot be null; leave it out to keep it")


def _changed_terms(
    current: CouponRow, store_ids: tuple[int, ...], changes: CouponChanges
) -> CouponTerms | None:
    given = {
        f.name: getattr(changes, f.name)
        for f in fields(CouponTerms)
        if not isinstance(getattr(changes, f.name), Unset)
    }
    if not given:
        return None
    return replace(terms_of(current, store_ids), **given)


def terms_of(row: CouponRow, store_ids: tuple[int, ...]) -> CouponTerms:
    """A saved coupon's terms (the start of an update)."""
    return CouponTerms(
        title=row.title,
        kind=row.kind,
        value=value_text(row),
        currency=row.currency,
        min_bill=None
        if row.min_bill is None or row.currency is None
        else MoneyValue(str(row.min_bill), row.currency),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        store_ids=store_ids,
        total_quantity=row.total_quantity,
        per_user_limit=row.per_user_limit,
        audience=row.audience,
        segment_id=row.segment_id,
    )


def value_text(row: CouponRow) -> str:
    """The kind's value as ``Coupon.value`` shows it: ``15``, ``5.00`` or the item."""
    if row.kind == "PERCENT_OFF" and row.percent_off is not None:
        return _plain(row.percent_off)
    if row.kind == "AMOUNT_OFF" and row.amount_off is not None:
        return f"{row.amount_off:.2f}"
    return row.free_item or ""


def _plain(number: Decimal) -> str:
    """``15.00`` as ``15``, ``12.50`` as ``12.5``."""
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _stock_after(current: CouponRow, total: int | None) -> CouponStock | InvalidInput:
    if total == current.total_quantity:
        return CouponStock(current.total_quantity, current.remaining_quantity)
    if current.total_quantity is None or current.remaining_quantity is None:
        # unlimited until now: claims were not counted down; counted from now on
        return CouponStock(total, total)
    taken = current.total_quantity - current.remaining_quantity
    if total is None:
        return CouponStock(None, None)
    if total < taken:
        return InvalidInput(
            f"{taken} coupons were already claimed: totalQuantity must be at least that",
            "input.totalQuantity",
        )
    return CouponStock(total, total - taken)


async def _foreign_stores(
    conn: AsyncConnection, merchant_id: int, terms: CouponTerms
) -> InvalidInput | None:
    """A store or segment of another merchant (or none at all)."""
    own = await deals_sql.store_ids_of_merchant(conn, merchant_id, terms.store_ids)
    if any(store_id not in own for store_id in terms.store_ids):
        return InvalidInput("a coupon is valid only at its own merchant's stores", "input.storeIds")
    if terms.audience == "SEGMENT" and terms.segment_id is not None:
        segment = await members_sql.segment_by_id(conn, terms.segment_id)
        if segment is None or segment.merchant_id != merchant_id:
            return InvalidInput("the segment must be one of the merchant's", "input.segmentId")
    return None


async def coupons_of_merchant(
    database: Database,
    principal: Principal | None,
    merchant_id: int,
    after_id: int,
    limit: int,
    now: datetime,
) -> list[CouponRow]:
    """``Merchant.coupons``: by id, ``limit`` rows after ``after_id``; published ones not over
    yet for everybody, every status for those who manage the merchant's coupons."""
    every = sees_unpublished(principal, merchant_id)
    async with database.read() as conn:
        return await coupons_sql.coupons_of_merchant(
            conn, merchant_id, after_id, limit, None if every else now
        )
