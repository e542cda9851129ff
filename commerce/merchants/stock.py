"""``adjustDealStock``: raise or lower a deal's units while customers book it (MANAGER and up).

The change is exact under concurrent bookings because it follows ``bookDeal``'s discipline
(``commerce/orders/booking.py``): the deal's row lock is taken first, then one conditional
statement moves the total and the remaining units by ``delta`` only if the remaining units
stay at or above zero. A booking and an adjustment of the same deal therefore run one after
the other, and every one of them sees the stock the previous one left.

The idempotency key is the caller's (``commerce/idempotency.py``): a replay with the same
input returns the first outcome and changes nothing; the same key with other input is
``BAD_USER_INPUT``. Each adjustment moves the deal to its next version and is kept in the
staff audit with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.errors import NotFoundError, UserInputError
from commerce.idempotency import check_key, decode_outcome, encode_outcome, fingerprint, reused_key
from commerce.identity.principal import Principal
from commerce.merchants import audit
from commerce.merchants.deals import locked_deal, not_allowed
from commerce.outcomes import DEAL_OUTCOMES, DealOutcome, DealSaved, InvalidInput
from db import deals_sql, idempotency_sql
from db.database import Database

OPERATION = "adjustDealStock"
MAX_DELTA = 1_000_000
MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class StockAdjustment:
    deal_id: int
    delta: int
    reason: str
    idempotency_key: str


async def adjust_deal_stock(
    database: Database, principal: Principal, request: StockAdjustment
) -> DealOutcome:
    key = check_key(request.idempotency_key)
    reason = _checked(request)
    stamp = fingerprint(request.deal_id, request.delta, reason)
    async with database.write() as conn:
        merchant_id = await deals_sql.deal_merchant(conn, request.deal_id)
        if merchant_id is None:
            raise NotFoundError("no Deal with this ID")
        refusal = not_allowed(principal, "manage_stock", merchant_id)
        if refusal is not None:
            return refusal
        if not await idempotency_sql.claim(conn, principal.subject, OPERATION, key, stamp):
            return await _replay(conn, principal, request.deal_id, key, stamp)
        outcome = await _adjust(conn, principal, request, reason)
        if not isinstance(outcome, DealSaved):
            await idempotency_sql.store_outcome(
                conn, principal.subject, OPERATION, key, encode_outcome(outcome)
            )
    return outcome


def _checked(request: StockAdjustment) -> str:
    if request.delta == 0 or abs(request.delta) > MAX_DELTA:
        raise UserInputError(
            "input.delta", f"delta must be non-zero, at most {MAX_DELTA} either way"
        )
    reason = request.reason.strip()
    if not 1 <= len(reason) <= MAX_REASON:
        raise UserInputError("input.reason", f"reason must be 1 to {MAX_REASON} characters")
    return reason


async def _adjust(
    conn: AsyncConnection, principal: Principal, request: StockAdjustment, reason: str
) -> DealOutcome:
    current = await locked_deal(conn, request.deal_id)
    if current.remaining_quantity is None:
        return InvalidInput(
            "this deal's stock is not limited: set totalQuantity with updateDeal first",
            "input.dealId",
        )
    row = await deals_sql.adjust_stock(conn, current.id, request.delta)
    if row is None:  # under the lock only a negative delta past the remaining units fails
        return InvalidInput(
            f"only {current.remaining_quantity} units remain: delta cannot go below zero",
            "input.delta",
        )
    await audit.record(
        conn,
        principal,
        action="adjust_stock",
        entity="deal",
        entity_id=row.id,
        merchant_id=row.merchant_id,
        before=_stock(current.total_quantity, current.remaining_quantity, current.version),
        after={
            **_stock(row.total_quantity, row.remaining_quantity, row.version),
            "delta": request.delta,
            "reason": reason,
        },
    )
    return DealSaved(row)


def _stock(total: int | None, remaining: int | None, version: int) -> dict[str, int | None]:
    return {"total_quantity": total, "remaining_quantity": remaining, "version": version}


async def _replay(
    conn: AsyncConnection, principal: Principal, deal_id: int, key: str, stamp: str
) -> DealOutcome:
    stored_stamp, outcome = await idempotency_sql.read(conn, principal.subject, OPERATION, key)
    if stored_stamp != stamp:
        raise reused_key()
    if outcome is None:  # the adjustment was made: the deal as it stands now
        return DealSaved(await deals_sql.read_deal(conn, deal_id))
    replayed: DealOutcome = decode_outcome(outcome, DEAL_OUTCOMES)
    return replayed
