"""``redeemVoucher`` and ``reverseRedemption``: staff of the store's merchant, exactly once.

The voucher row is locked before its status is read, so sixteen devices scanning one code
at once run one after another: the first redeems, the others see REDEEMED. The conditional
update and a unique index on active redemptions back this up in the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.errors import NotFoundError, UserInputError
from commerce.idempotency import check_key, decode_outcome, encode_outcome, fingerprint, reused_key
from commerce.loop import Loop
from commerce.outcomes import (
    REDEEM_OUTCOMES,
    AlreadyRedeemed,
    NotRedeemed,
    NotValidHere,
    Redeemed,
    RedeemOutcome,
    Reversed,
    ReverseOutcome,
    VoucherExpired,
    VoucherNotFound,
    VoucherRefunded,
    WindowClosed,
)
from commerce.principal import Principal
from commerce.vouchers import code_hash, normalize
from geo import booking_sql, idempotency_sql, voucher_sql
from geo.loop_rows import VoucherRow

OPERATION = "redeemVoucher"
MAX_CODE_INPUT = 64


@dataclass(frozen=True, slots=True)
class RedeemRequest:
    code: str
    store_id: int
    idempotency_key: str


async def redeem_voucher(loop: Loop, principal: Principal, request: RedeemRequest) -> RedeemOutcome:
    key = check_key(request.idempotency_key)
    if len(request.code) > MAX_CODE_INPUT:
        raise UserInputError("input.code", f"code must be at most {MAX_CODE_INPUT} characters")
    principal.require_staff()
    async with loop.database.write() as conn:
        merchant_id = await booking_sql.store_merchant(conn, request.store_id)
        if merchant_id is None:
            raise NotFoundError("no Store with this ID")
        principal.require_staff_of(merchant_id)
        code = normalize(request.code)
        stamp = fingerprint(code or request.code, request.store_id)
        if not await _claim(conn, principal, key, stamp):
            return await _replay(conn, principal, key, stamp)
        outcome = await _redeem(conn, loop, principal, code, request.store_id, merchant_id)
        await _store(conn, principal, key, outcome)
    return outcome


async def _claim(conn: AsyncConnection, principal: Principal, key: str, stamp: str) -> bool:
    return await idempotency_sql.claim(conn, principal.subject, OPERATION, key, stamp)


async def _store(
    conn: AsyncConnection, principal: Principal, key: str, outcome: RedeemOutcome
) -> None:
    await idempotency_sql.store_outcome(
        conn, principal.subject, OPERATION, key, encode_outcome(outcome)
    )


async def _replay(
    conn: AsyncConnection, principal: Principal, key: str, stamp: str
) -> RedeemOutcome:
    stored_stamp, outcome = await idempotency_sql.read(conn, principal.subject, OPERATION, key)
    if stored_stamp != stamp:
        raise reused_key()
    assert outcome is not None
    replayed: RedeemOutcome = decode_outcome(outcome, REDEEM_OUTCOMES)
    return replayed


async def _redeem(
    conn: AsyncConnection,
    loop: Loop,
    principal: Principal,
    code: str | None,
    store_id: int,
    merchant_id: int,
) -> RedeemOutcome:
    not_found = VoucherNotFound("no voucher has this code; check it for typos")
    if code is None:
        return not_found
    voucher = await voucher_sql.lock_voucher_by_hash(conn, code_hash(loop.config.voucher_key, code))
    if voucher is None:
        return not_found
    refusal = await _refusal(conn, voucher, store_id, merchant_id)
    if refusal is not None:
        return refusal
    if not await voucher_sql.redeem(conn, voucher.id, store_id, principal.subject):
        raise RuntimeError(f"voucher {voucher.id} changed under its row lock")
    counts = await voucher_sql.status_counts(conn, voucher.booking_id)
    if not counts.get("ISSUED"):
        await booking_sql.set_status(
            conn, voucher.booking_id, "COMPLETED", was=["CONFIRMED"], reason=None
        )
    return Redeemed(voucher.id)


async def _refusal(
    conn: AsyncConnection, voucher: VoucherRow, store_id: int, merchant_id: int
) -> RedeemOutcome | None:
    if voucher.merchant_id != merchant_id:
        return NotValidHere("this voucher belongs to another merchant")
    if not await voucher_sql.deal_valid_at_store(conn, voucher.deal_id, store_id):
        return NotValidHere("this voucher's deal is not valid at this store")
    if voucher.status == "REDEEMED" and voucher.redeemed_at is not None:
        return AlreadyRedeemed("this voucher was already redeemed", voucher.redeemed_at)
    if voucher.status == "REFUNDED":
        return VoucherRefunded("this voucher was refunded")
    if not await voucher_sql.still_valid(conn, voucher.id):
        return VoucherExpired(f"this voucher expired at {voucher.valid_until.isoformat()}")
    return None


async def reverse_redemption(
    loop: Loop, principal: Principal, voucher_id: int, reason: str
) -> ReverseOutcome:
    if not 1 <= len(reason.strip()) <= 500:
        raise UserInputError("input.reason", "reason must be 1 to 500 characters")
    async with loop.database.write() as conn:
        voucher = await voucher_sql.lock_voucher(conn, voucher_id)
        if voucher is None:
            raise NotFoundError("no Voucher with this ID")
        principal.require_staff_of(voucher.merchant_id)
        redemption = await voucher_sql.active_redemption(conn, voucher_id)
        if redemption is None:
            return NotRedeemed("this voucher is not redeemed")
        window = loop.config.reversal_window_seconds
        if not await voucher_sql.within_window(conn, redemption.id, window):
            return WindowClosed(f"a redemption can be reversed within {window // 60} minutes")
        await voucher_sql.reverse(conn, redemption, principal.subject, reason.strip())
        await booking_sql.set_status(
            conn, voucher.booking_id, "CONFIRMED", was=["COMPLETED"], reason=None
        )
    return Reversed(voucher_id)
