"""``redeemVoucher`` and ``reverseRedemption``: staff of the store's merchant (a cashier
pinned to a store: at that store), exactly once; each success is kept in the staff audit.

The voucher row is locked (after its booking's, the order every path uses) before its
status is read, so sixteen devices scanning one code at once run one after another: the
first redeems, the others see REDEEMED. The conditional update and a unique index on active
redemptions back this up in the database. In the same transaction: the ledger's REDEMPTION
journal (or the REVERSAL that negates it), the booking's status from its vouchers
(``states.py``, which also clears a stale ``cancelReason``), the customer's review
``verified`` while a redemption of theirs at the merchant stands, and the visit for the
customer's membership at the merchant (``commerce/members/visits.py``; a reversal removes it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.errors import NotFoundError, UserInputError
from commerce.idempotency import check_key, decode_outcome, encode_outcome, fingerprint, reused_key
from commerce.identity import roles
from commerce.identity.principal import Principal
from commerce.members import visits
from commerce.merchants import audit
from commerce.money import ledger
from commerce.orders import states
from commerce.orders.services import OrderServices
from commerce.orders.vouchers import code_hash, normalize
from commerce.outcomes import (
    REDEEM_OUTCOMES,
    RedeemOutcome,
    RedemptionReversed,
    ReversalWindowClosed,
    ReverseOutcome,
    VoucherAlreadyRedeemed,
    VoucherExpired,
    VoucherNotFound,
    VoucherNotRedeemed,
    VoucherNotValidHere,
    VoucherRedeemed,
    VoucherRefunded,
)
from db import bookings_sql, idempotency_sql, members_sql, reviews_sql, vouchers_sql
from db.database import Database
from db.order_rows import VoucherRow

OPERATION = "redeemVoucher"
MAX_CODE_INPUT = 64
# a success is stored by voucher id (never with its code) under these kinds
STORED_SUCCESS_KINDS = ("VoucherRedeemed", "Redeemed")


@dataclass(frozen=True, slots=True)
class RedeemRequest:
    code: str
    store_id: int
    idempotency_key: str


async def redeem_voucher(
    database: Database, services: OrderServices, principal: Principal, request: RedeemRequest
) -> RedeemOutcome:
    key = check_key(request.idempotency_key)
    if len(request.code) > MAX_CODE_INPUT:
        raise UserInputError("input.code", f"code must be at most {MAX_CODE_INPUT} characters")
    principal.require_staff()
    async with database.write() as conn:
        merchant_id = await bookings_sql.store_merchant(conn, request.store_id)
        if merchant_id is None:
            raise NotFoundError("no Store with this ID")
        roles.require(principal, "redeem", merchant_id, request.store_id)
        code = normalize(request.code)
        stamp = fingerprint(code or request.code, request.store_id)
        if not await _claim(conn, principal, key, stamp):
            return await _replay(conn, services, principal, key, stamp)
        outcome = await _redeem(conn, services, principal, code, request.store_id, merchant_id)
        await _store(conn, principal, key, outcome)
    return outcome


async def _claim(conn: AsyncConnection, principal: Principal, key: str, stamp: str) -> bool:
    return await idempotency_sql.claim(conn, principal.subject, OPERATION, key, stamp)


async def _store(
    conn: AsyncConnection, principal: Principal, key: str, outcome: RedeemOutcome
) -> None:
    await idempotency_sql.store_outcome(conn, principal.subject, OPERATION, key, _stored(outcome))


def _stored(outcome: RedeemOutcome) -> dict[str, Any]:
    if isinstance(outcome, VoucherRedeemed):
        voucher_id = outcome.voucher.row.id
        return {"kind": STORED_SUCCESS_KINDS[0], "fields": {"voucher_id": voucher_id}}
    return encode_outcome(outcome)


async def _replay(
    conn: AsyncConnection, services: OrderServices, principal: Principal, key: str, stamp: str
) -> RedeemOutcome:
    stored_stamp, outcome = await idempotency_sql.read(conn, principal.subject, OPERATION, key)
    if stored_stamp != stamp:
        raise reused_key()
    assert outcome is not None
    if outcome["kind"] in STORED_SUCCESS_KINDS:  # the voucher as it stands now
        voucher_id = outcome["fields"]["voucher_id"]
        row = (await vouchers_sql.vouchers_by_ids(conn, [voucher_id]))[voucher_id]
        return VoucherRedeemed(services.voucher_view(row))
    replayed: RedeemOutcome = decode_outcome(outcome, REDEEM_OUTCOMES)
    return replayed


async def _redeem(
    conn: AsyncConnection,
    services: OrderServices,
    principal: Principal,
    code: str | None,
    store_id: int,
    merchant_id: int,
) -> RedeemOutcome:
    not_found = VoucherNotFound("no voucher has this code; check it for typos")
    if code is None:
        return not_found
    voucher = await _lock(conn, code_hash(services.config.voucher_key, code))
    if voucher is None:
        return not_found
    refusal = await _refusal(conn, voucher, store_id, merchant_id)
    if refusal is not None:
        return refusal
    redeemed = await vouchers_sql.redeem(conn, voucher.id, store_id, principal.subject)
    redemption = await vouchers_sql.active_redemption(conn, voucher.id)
    if redeemed is None or redemption is None:
        raise RuntimeError(f"voucher {voucher.id} changed under its row lock")
    await ledger.post_redemption(
        conn, redemption.id, voucher.id, voucher.booking_id, voucher.unit_price
    )
    await states.settle_booking(conn, voucher.booking_id)
    await _follow_visits(conn, voucher)
    await _count_visit(conn, voucher, redemption.id, redemption.redeemed_at)
    await audit.record(
        conn,
        principal,
        action="redeem_voucher",
        entity="voucher",
        entity_id=voucher.id,
        merchant_id=merchant_id,
        before={"status": voucher.status},
        after={"status": redeemed.status, "store_id": store_id},
    )
    return VoucherRedeemed(services.voucher_view(redeemed))


async def _lock(conn: AsyncConnection, hashed: bytes) -> VoucherRow | None:
    """The voucher under its row lock, taken after its booking's (the order cancelling and
    expiry use), so a scan racing a cancellation waits instead of deadlocking."""
    found = await vouchers_sql.voucher_by_hash(conn, hashed)
    if found is None:
        return None
    await bookings_sql.lock_booking(conn, found.booking_id)
    return await vouchers_sql.lock_voucher(conn, found.id)


async def _follow_visits(conn: AsyncConnection, voucher: VoucherRow) -> None:
    """The customer's review of the merchant is verified while a redemption stands."""
    visited = await vouchers_sql.last_visit(conn, voucher.user_id, voucher.merchant_id)
    await reviews_sql.follow_visit(conn, voucher.user_id, voucher.merchant_id, visited)


async def _count_visit(
    conn: AsyncConnection, voucher: VoucherRow, redemption_id: int, at: datetime
) -> None:
    """The redemption is a visit of the customer's membership at the merchant (when they are,
    or become, a member), spending the voucher's price."""
    currency = await members_sql.booking_currency(conn, voucher.booking_id)
    await visits.record_visit(
        conn,
        voucher.merchant_id,
        voucher.user_id,
        voucher.unit_price,
        at,
        currency=currency,
        source="VOUCHER",
        source_id=redemption_id,
    )


async def _refusal(
    conn: AsyncConnection, voucher: VoucherRow, store_id: int, merchant_id: int
) -> RedeemOutcome | None:
    if voucher.merchant_id != merchant_id:
        return VoucherNotValidHere("this voucher belongs to another merchant")
    if not await vouchers_sql.deal_valid_at_store(conn, voucher.deal_id, store_id):
        return VoucherNotValidHere("this voucher's deal is not valid at this store")
    if voucher.status == "REDEEMED" and voucher.redeemed_at is not None:
        return VoucherAlreadyRedeemed("this voucher was already redeemed", voucher.redeemed_at)
    if voucher.status == "REFUNDED":
        return VoucherRefunded("this voucher was refunded")
    if not await vouchers_sql.still_valid(conn, voucher.id):
        return VoucherExpired(f"this voucher expired at {voucher.valid_until.isoformat()}")
    return None


async def reverse_redemption(
    database: Database,
    services: OrderServices,
    principal: Principal,
    voucher_id: int,
    reason: str,
) -> ReverseOutcome:
    if not 1 <= len(reason.strip()) <= 500:
        raise UserInputError("input.reason", "reason must be 1 to 500 characters")
    async with database.write() as conn:
        found = (await vouchers_sql.vouchers_by_ids(conn, [voucher_id])).get(voucher_id)
        if found is None:
            raise NotFoundError("no Voucher with this ID")
        await bookings_sql.lock_booking(conn, found.booking_id)  # booking before voucher
        voucher = await vouchers_sql.lock_voucher(conn, voucher_id)
        assert voucher is not None  # vouchers are never deleted
        principal.require_staff_of(voucher.merchant_id)
        redemption = await vouchers_sql.active_redemption(conn, voucher_id)
        if redemption is None:
            return VoucherNotRedeemed("this voucher is not redeemed")
        roles.require(principal, "redeem", voucher.merchant_id, redemption.store_id)
        window = services.config.reversal_window_seconds
        if not await vouchers_sql.within_window(conn, redemption.id, window):
            return ReversalWindowClosed(
                f"a redemption can be reversed within {window // 60} minutes"
            )
        reissued = await vouchers_sql.reverse(conn, redemption, principal.subject, reason.strip())
        if reissued is not None:
            await ledger.post_reversal(conn, redemption.id, voucher_id, voucher.booking_id)
            await states.settle_booking(conn, voucher.booking_id)
            await _follow_visits(conn, voucher)
            await visits.undo_visit(conn, "VOUCHER", redemption.id)
        if reissued is None:  # not expected under the voucher's row lock: show it as it is
            reissued = (await vouchers_sql.vouchers_by_ids(conn, [voucher_id]))[voucher_id]
        await audit.record(
            conn,
            principal,
            action="reverse_redemption",
            entity="voucher",
            entity_id=voucher_id,
            merchant_id=voucher.merchant_id,
            before={"status": voucher.status, "store_id": redemption.store_id},
            after={"status": reissued.status, "reason": reason.strip()},
        )
    return RedemptionReversed(services.voucher_view(reissued))
