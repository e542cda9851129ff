"""``redeemCoupon`` and ``reverseCouponRedemption``: store staff (``redeem`` at that store)
use a claimed coupon on a bill, exactly once, and may undo it within the reversal window.

The coupon's row is locked, then the claimed coupon's (the order every coupon path uses), so
sixteen devices scanning one code at once run one after another: the first redeems, the
others see ``CouponAlreadyRedeemed``; a unique index on unreversed redemptions backs this up.
The discount is exact (``discount.py``); the bill, discount and payable amount are recorded
on the redemption, the visit counts for the customer's membership
(``commerce/members/visits.py``), and the write is kept in the staff audit.

A claimed coupon stays usable until its ``validUntil`` whatever happens to the campaign
afterwards (paused or ended campaigns take no new claims; what a customer holds is kept).
A bill in another currency than the coupon's is ``BAD_USER_INPUT`` (``billAmount.currency``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.coupons.codes import hash_of, view_of
from commerce.coupons.discount import Discount, discount_on, in_minor_units
from commerce.errors import NotFoundError, UserInputError
from commerce.idempotency import check_key, decode_outcome, encode_outcome, fingerprint, reused_key
from commerce.identity import roles
from commerce.identity.principal import Principal
from commerce.members import visits
from commerce.merchants import audit
from commerce.merchants.deal_terms import MoneyValue, amount
from commerce.money import ledger
from commerce.orders.services import OrderServices
from commerce.orders.vouchers import normalize
from commerce.outcomes import (
    REDEEM_COUPON_OUTCOMES,
    BillBelowMinimum,
    CouponAlreadyRedeemed,
    CouponExpired,
    CouponNotFound,
    CouponNotRedeemed,
    CouponNotValidHere,
    CouponRedeemed,
    CouponRedemptionReversed,
    RedeemCouponOutcome,
    ReversalWindowClosed,
    ReverseCouponOutcome,
)
from db import bookings_sql, coupons_sql, idempotency_sql
from db.coupon_rows import ClaimedCouponRow, CouponRow
from db.coupons_sql import NewRedemption
from db.database import Database

OPERATION = "redeemCoupon"
SUCCESS_KIND = "CouponRedeemed"
MAX_CODE_INPUT = 64
MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class RedeemCouponRequest:
    code: str
    store_id: int
    bill: MoneyValue
    idempotency_key: str


def bill_of(bill: MoneyValue) -> Decimal:
    """The bill as an exact amount in its currency's minor unit (``BAD_USER_INPUT`` else)."""
    value = amount(bill, "input.billAmount")
    if not in_minor_units(value, bill.currency):
        raise UserInputError(
            "input.billAmount.amount", f"{bill.currency} amounts have no such minor unit"
        )
    return value


async def redeem_coupon(
    database: Database,
    services: OrderServices,
    principal: Principal,
    request: RedeemCouponRequest,
    now: datetime,
) -> RedeemCouponOutcome:
    key = check_key(request.idempotency_key)
    if len(request.code) > MAX_CODE_INPUT:
        raise UserInputError("input.code", f"code must be at most {MAX_CODE_INPUT} characters")
    bill = bill_of(request.bill)
    principal.require_staff()
    async with database.write() as conn:
        merchant_id = await bookings_sql.store_merchant(conn, request.store_id)
        if merchant_id is None:
            raise NotFoundError("no Store with this ID")
        roles.require(principal, "redeem", merchant_id, request.store_id)
        code = normalize(request.code)
        stamp = fingerprint(code or request.code, request.store_id, bill, request.bill.currency)
        subject = principal.subject
        if not await idempotency_sql.claim(conn, subject, OPERATION, key, stamp):
            return await _replay(conn, services, subject, key, stamp)
        found = None if code is None else await _locked(conn, hash_of(_key(services), code))
        if found is None:
            outcome: RedeemCouponOutcome = CouponNotFound(
                "no coupon has this code; check it for typos"
            )
        else:
            coupon, claimed = found
            where = _Where(merchant_id, request.store_id, bill, request.bill.currency, now)
            outcome = await _redeem(conn, services, principal, coupon, claimed, where)
        await idempotency_sql.store_outcome(conn, subject, OPERATION, key, _stored(outcome))
    return outcome


@dataclass(frozen=True, slots=True)
class _Where:
    merchant_id: int
    store_id: int
    bill: Decimal
    currency: str
    now: datetime


def _key(services: OrderServices) -> bytes:
    return services.config.voucher_key


async def _locked(
    conn: AsyncConnection, hashed: bytes
) -> tuple[CouponRow, ClaimedCouponRow] | None:
    """The coupon and the claimed coupon of a code hash, both rows locked (coupon first)."""
    ids = await coupons_sql.claimed_id_by_hash(conn, hashed)
    if ids is None:
        return None
    claimed_id, coupon_id = ids
    coupon = await coupons_sql.lock_coupon(conn, coupon_id)
    claimed = await coupons_sql.lock_claimed(conn, claimed_id)
    if coupon is None or claimed is None:
        return None
    return coupon, claimed


async def _redeem(
    conn: AsyncConnection,
    services: OrderServices,
    principal: Principal,
    coupon: CouponRow,
    claimed: ClaimedCouponRow,
    where: _Where,
) -> RedeemCouponOutcome:
    refusal = await _refusal(conn, coupon, claimed, where)
    if refusal is not None:
        return refusal
    off = discount_on(
        coupon.kind,
        where.bill,
        where.currency,
        percent_off=coupon.percent_off,
        amount_off=coupon.amount_off,
    )
    redemption = await coupons_sql.insert_redemption(
        conn,
        NewRedemption(
            claimed_coupon_id=claimed.id,
            coupon_id=coupon.id,
            merchant_id=coupon.merchant_id,
            store_id=where.store_id,
            staff_id=principal.subject,
            bill_amount=off.bill,
            discount=off.discount,
            payable=off.payable,
            currency=off.currency,
        ),
    )
    if coupon.platform_funded:  # the platform pays the discount (a statement line)
        await ledger.post_coupon_discount(
            conn, redemption.id, coupon.merchant_id, off.currency, off.discount
        )
    redeemed = await coupons_sql.set_claimed_status(conn, claimed.id, "REDEEMED")
    await visits.record_visit(
        conn,
        coupon.merchant_id,
        claimed.user_id,
        off.payable,
        redemption.redeemed_at,
        currency=off.currency,
        source="COUPON",
        source_id=redemption.id,
    )
    await _audit_redemption(conn, principal, claimed, redemption.store_id, off)
    return CouponRedeemed(view_of(redeemed, _key(services)), redemption, coupon.free_item)


async def _refusal(
    conn: AsyncConnection, coupon: CouponRow, claimed: ClaimedCouponRow, where: _Where
) -> RedeemCouponOutcome | None:
    if claimed.merchant_id != where.merchant_id:
        return CouponNotValidHere("this coupon belongs to another merchant")
    if not await coupons_sql.valid_at_store(conn, coupon.id, where.store_id):
        return CouponNotValidHere("this coupon is not valid at this store")
    if claimed.status == "REDEEMED":
        active = await coupons_sql.active_redemption(conn, claimed.id)
        at = where.now if active is None else active.redeemed_at
        return CouponAlreadyRedeemed("this coupon was already used", at)
    if claimed.status == "EXPIRED" or claimed.valid_until <= where.now:
        if claimed.status == "ISSUED":
            await coupons_sql.set_claimed_status(conn, claimed.id, "EXPIRED")
        return CouponExpired(f"this coupon expired at {claimed.valid_until.isoformat()}")
    if where.now < coupon.valid_from:
        return CouponNotValidHere(f"this coupon is valid from {coupon.valid_from.isoformat()}")
    if coupon.currency is not None and coupon.currency != where.currency:
        raise UserInputError(
            "input.billAmount.currency", f"this coupon is for bills in {coupon.currency}"
        )
    if coupon.min_bill is not None and where.bill < coupon.min_bill:
        return BillBelowMinimum(
            f"this coupon needs a bill of at least {coupon.min_bill:.2f} {coupon.currency}",
            f"{coupon.min_bill:.2f}",
            coupon.currency or where.currency,
        )
    return None


async def _audit_redemption(
    conn: AsyncConnection,
    principal: Principal,
    claimed: ClaimedCouponRow,
    store_id: int,
    off: Discount,
) -> None:
    await audit.record(
        conn,
        principal,
        action="redeem_coupon",
        entity="claimed_coupon",
        entity_id=claimed.id,
        merchant_id=claimed.merchant_id,
        before={"status": claimed.status},
        after={
            "status": "REDEEMED",
            "store_id": store_id,
            "bill": off.bill,
            "discount": off.discount,
            "payable": off.payable,
            "currency": off.currency,
        },
    )


def _stored(outcome: RedeemCouponOutcome) -> dict[str, Any]:
    if isinstance(outcome, CouponRedeemed):  # by ids: the code is never stored
        fields = {"claimed_id": outcome.claimed.row.id, "redemption_id": outcome.redemption.id}
        return {"kind": SUCCESS_KIND, "fields": fields}
    return encode_outcome(outcome)


async def _replay(
    conn: AsyncConnection, services: OrderServices, subject: str, key: str, stamp: str
) -> RedeemCouponOutcome:
    stored_stamp, outcome = await idempotency_sql.read(conn, subject, OPERATION, key)
    if stored_stamp != stamp:
        raise reused_key()
    assert outcome is not None
    if outcome["kind"] == SUCCESS_KIND:
        claimed_id = outcome["fields"]["claimed_id"]
        claimed = (await coupons_sql.claimed_by_ids(conn, [claimed_id]))[claimed_id]
        redemption = await coupons_sql.redemption_by_id(conn, outcome["fields"]["redemption_id"])
        coupon = (await coupons_sql.coupons_by_ids(conn, [claimed.coupon_id]))[claimed.coupon_id]
        return CouponRedeemed(view_of(claimed, _key(services)), redemption, coupon.free_item)
    replayed: RedeemCouponOutcome = decode_outcome(outcome, REDEEM_COUPON_OUTCOMES)
    return replayed


async def reverse_coupon_redemption(
    database: Database,
    services: OrderServices,
    principal: Principal,
    claimed_id: int,
    reason: str,
) -> ReverseCouponOutcome:
    """Undo the claimed coupon's redemption within the reversal window (the voucher one):
    the coupon is ISSUED again, the redemption keeps ``reversedAt`` as audit, the visit is
    taken off the membership."""
    why = reason.strip()
    if not 1 <= len(why) <= MAX_REASON:
        raise UserInputError("input.reason", f"reason must be 1 to {MAX_REASON} characters")
    async with database.write() as conn:
        found = (await coupons_sql.claimed_by_ids(conn, [claimed_id])).get(claimed_id)
        if found is None:
            raise NotFoundError("no ClaimedCoupon with this ID")
        principal.require_staff_of(found.merchant_id)
        await coupons_sql.lock_coupon(conn, found.coupon_id)  # coupon before claimed coupon
        claimed = await coupons_sql.lock_claimed(conn, claimed_id)
        assert claimed is not None  # claimed coupons are never deleted
        redemption = await coupons_sql.active_redemption(conn, claimed_id)
        if redemption is None:
            return CouponNotRedeemed("this coupon is not used (never was, or already reversed)")
        roles.require(principal, "redeem", claimed.merchant_id, redemption.store_id)
        window = services.config.reversal_window_seconds
        if not await coupons_sql.within_window(conn, redemption.id, window):
            return ReversalWindowClosed(f"a coupon use can be reversed within {window // 60} min")
        reversed_row = await coupons_sql.reverse(conn, redemption.id, principal.subject, why)
        reissued = await coupons_sql.set_claimed_status(conn, claimed_id, "ISSUED")
        await ledger.post_coupon_reversal(conn, redemption.id, claimed.merchant_id)
        await visits.undo_visit(conn, "COUPON", redemption.id)
        await audit.record(
            conn,
            principal,
            action="reverse_coupon_redemption",
            entity="claimed_coupon",
            entity_id=claimed_id,
            merchant_id=claimed.merchant_id,
            before={"status": claimed.status, "store_id": redemption.store_id},
            after={"status": reissued.status, "reason": why},
        )
    return CouponRedemptionReversed(view_of(reissued, _key(services)), reversed_row)
