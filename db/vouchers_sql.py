"""Vouchers and redemptions: issue, look up by code hash under lock, redeem, reverse, refund."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog_sql import any_of
from db.order_rows import MerchantRedemptionRow, RedemptionRow, VoucherRow
from db.rows import row_to
from db.tables import deal_stores, payments, redemptions, refunds, vouchers

VOUCHER_COLUMNS = tuple(vouchers.c[name] for name in VoucherRow.__dataclass_fields__)
REDEMPTION_COLUMNS = tuple(redemptions.c[name] for name in RedemptionRow.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class NewVoucher:
    unit_index: int
    code_nonce: bytes
    code_hash: bytes


@dataclass(frozen=True, slots=True)
class VoucherBatch:
    booking_id: int
    user_id: str
    deal_id: int
    merchant_id: int
    unit_price: Decimal
    valid_until: datetime
    units: Sequence[NewVoucher]


async def insert_vouchers(conn: AsyncConnection, batch: VoucherBatch) -> list[VoucherRow]:
    """The batch's vouchers in one statement, returned in unit order."""
    shared = {
        "booking_id": batch.booking_id,
        "user_id": batch.user_id,
        "deal_id": batch.deal_id,
        "merchant_id": batch.merchant_id,
        "unit_price": batch.unit_price,
        "valid_until": batch.valid_until,
    }
    rows = [
        {**shared, "unit_index": u.unit_index, "code_nonce": u.code_nonce, "code_hash": u.code_hash}
        for u in batch.units
    ]
    result = await conn.execute(vouchers.insert().values(rows).returning(*VOUCHER_COLUMNS))
    issued = [row_to(VoucherRow, row) for row in result.mappings()]
    return sorted(issued, key=lambda voucher: voucher.unit_index)


async def lock_voucher_by_hash(conn: AsyncConnection, code_hash: bytes) -> VoucherRow | None:
    """The voucher under a row lock: concurrent scans of one code run one after another."""
    result = await conn.execute(
        select(*VOUCHER_COLUMNS)
        .where(vouchers.c.code_hash == code_hash)
        .with_for_update(key_share=True)
    )
    row = result.mappings().first()
    return None if row is None else row_to(VoucherRow, row)


async def lock_voucher(conn: AsyncConnection, voucher_id: int) -> VoucherRow | None:
    result = await conn.execute(
        select(*VOUCHER_COLUMNS).where(vouchers.c.id == voucher_id).with_for_update(key_share=True)
    )
    row = result.mappings().first()
    return None if row is None else row_to(VoucherRow, row)


async def deal_valid_at_store(conn: AsyncConnection, deal_id: int, store_id: int) -> bool:
    result = await conn.execute(
        select(deal_stores.c.deal_id).where(
            deal_stores.c.deal_id == deal_id, deal_stores.c.store_id == store_id
        )
    )
    return result.first() is not None


async def redeem(
    conn: AsyncConnection, voucher_id: int, store_id: int, staff_id: str
) -> VoucherRow | None:
    """ISSUED -> REDEEMED plus the redemption record; the partial unique index on active
    redemptions refuses a second one even if this condition were wrong. The voucher as
    redeemed; None when it was not ISSUED."""
    result = await conn.execute(
        update(vouchers)
        .where(vouchers.c.id == voucher_id, vouchers.c.status == "ISSUED")
        .values(status="REDEEMED", redeemed_at=func.now(), redeemed_store_id=store_id)
        .returning(*VOUCHER_COLUMNS)
    )
    row = result.mappings().first()
    if row is None:
        return None
    voucher: VoucherRow = row_to(VoucherRow, row)
    await conn.execute(
        redemptions.insert().values(
            voucher_id=voucher_id,
            store_id=store_id,
            merchant_id=voucher.merchant_id,
            staff_id=staff_id,
        )
    )
    return voucher


async def active_redemption(conn: AsyncConnection, voucher_id: int) -> RedemptionRow | None:
    result = await conn.execute(
        select(*REDEMPTION_COLUMNS).where(
            redemptions.c.voucher_id == voucher_id, redemptions.c.reversed_at.is_(None)
        )
    )
    row = result.mappings().first()
    return None if row is None else row_to(RedemptionRow, row)


async def within_window(conn: AsyncConnection, redemption_id: int, window_seconds: int) -> bool:
    window = func.make_interval(0, 0, 0, 0, 0, 0, window_seconds)
    result = await conn.execute(
        select(redemptions.c.id).where(
            redemptions.c.id == redemption_id, redemptions.c.redeemed_at > func.now() - window
        )
    )
    return result.first() is not None


async def reverse(
    conn: AsyncConnection, redemption: RedemptionRow, staff_id: str, reason: str
) -> VoucherRow | None:
    """Mark the redemption reversed (kept as the audit record) and reissue the voucher; the
    voucher as reissued, None when the redemption was reversed before."""
    result = await conn.execute(
        update(redemptions)
        .where(redemptions.c.id == redemption.id, redemptions.c.reversed_at.is_(None))
        .values(reversed_at=func.now(), reversed_by=staff_id, reversal_reason=reason)
        .returning(redemptions.c.id)
    )
    if result.first() is None:
        return None
    reissued = await conn.execute(
        update(vouchers)
        .where(vouchers.c.id == redemption.voucher_id, vouchers.c.status == "REDEEMED")
        .values(status="ISSUED", redeemed_at=None, redeemed_store_id=None)
        .returning(*VOUCHER_COLUMNS)
    )
    row = reissued.mappings().first()
    return None if row is None else row_to(VoucherRow, row)


async def lock_issued_of_booking(conn: AsyncConnection, booking_id: int) -> list[VoucherRow]:
    result = await conn.execute(
        select(*VOUCHER_COLUMNS)
        .where(vouchers.c.booking_id == booking_id, vouchers.c.status == "ISSUED")
        .order_by(vouchers.c.id)
        .with_for_update(key_share=True)
    )
    return [row_to(VoucherRow, row) for row in result.mappings()]


async def mark_refunded(conn: AsyncConnection, voucher_ids: Sequence[int], refund_id: int) -> int:
    result = await conn.execute(
        update(vouchers)
        .where(any_of(vouchers.c.id, voucher_ids), vouchers.c.status == "ISSUED")
        .values(status="REFUNDED", refund_id=refund_id)
        .returning(vouchers.c.id)
    )
    return len(result.all())


async def unmark_refunded(conn: AsyncConnection, refund_id: int) -> None:
    """A refund the provider refused: the vouchers are the customer's again."""
    await conn.execute(
        update(vouchers)
        .where(vouchers.c.refund_id == refund_id, vouchers.c.status == "REFUNDED")
        .values(status="ISSUED", refund_id=None)
    )


async def status_counts(conn: AsyncConnection, booking_id: int) -> dict[str, int]:
    result = await conn.execute(
        select(vouchers.c.status, func.count())
        .where(vouchers.c.booking_id == booking_id)
        .group_by(vouchers.c.status)
    )
    return {status: int(n) for status, n in result.all()}


async def vouchers_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, VoucherRow]:
    result = await conn.execute(select(*VOUCHER_COLUMNS).where(any_of(vouchers.c.id, ids)))
    return {row["id"]: row_to(VoucherRow, row) for row in result.mappings()}


async def vouchers_of_bookings(
    conn: AsyncConnection, booking_ids: Sequence[int]
) -> dict[int, list[VoucherRow]]:
    result = await conn.execute(
        select(*VOUCHER_COLUMNS)
        .where(any_of(vouchers.c.booking_id, booking_ids))
        .order_by(vouchers.c.booking_id, vouchers.c.unit_index)
    )
    grouped: dict[int, list[VoucherRow]] = {b: [] for b in booking_ids}
    for row in result.mappings():
        grouped[row["booking_id"]].append(row_to(VoucherRow, row))
    return grouped


async def vouchers_of_user(
    conn: AsyncConnection, user_id: str, before_id: int | None, limit: int
) -> list[VoucherRow]:
    query = select(*VOUCHER_COLUMNS).where(vouchers.c.user_id == user_id)
    if before_id is not None:
        query = query.where(vouchers.c.id < before_id)
    result = await conn.execute(query.order_by(vouchers.c.id.desc()).limit(limit))
    return [row_to(VoucherRow, row) for row in result.mappings()]


async def count_vouchers_of_user(conn: AsyncConnection, user_id: str) -> int:
    result = await conn.execute(
        select(func.count()).select_from(vouchers).where(vouchers.c.user_id == user_id)
    )
    return int(result.scalar_one())


async def last_visit(conn: AsyncConnection, user_id: str, merchant_id: int) -> datetime | None:
    """When the user last redeemed a voucher at the merchant (reversed scans do not count)."""
    result = await conn.execute(
        select(func.max(redemptions.c.redeemed_at))
        .join(vouchers, vouchers.c.id == redemptions.c.voucher_id)
        .where(
            vouchers.c.user_id == user_id,
            redemptions.c.merchant_id == merchant_id,
            redemptions.c.reversed_at.is_(None),
        )
    )
    value: datetime | None = result.scalar_one_or_none()
    return value


async def still_valid(conn: AsyncConnection, voucher_id: int) -> bool:
    """Judged by the database clock, like every other time rule of the orders."""
    result = await conn.execute(
        select(vouchers.c.id).where(
            vouchers.c.id == voucher_id, vouchers.c.valid_until > func.now()
        )
    )
    return result.first() is not None


def _merchant_redemptions() -> Select[Any]:
    """Redemptions as their merchant's staff see them, with the voucher's deal."""
    return select(
        *REDEMPTION_COLUMNS,
        redemptions.c.reversed_by,
        redemptions.c.reversal_reason,
        vouchers.c.deal_id,
        redemptions.c.merchant_id,
    ).join(vouchers, vouchers.c.id == redemptions.c.voucher_id)


async def redemptions_of_merchant(
    conn: AsyncConnection, merchant_id: int, before_id: int | None, limit: int
) -> list[MerchantRedemptionRow]:
    """A merchant's redemptions (reversed ones included, as the audit trail), newest first."""
    query = _merchant_redemptions().where(redemptions.c.merchant_id == merchant_id)
    if before_id is not None:
        query = query.where(redemptions.c.id < before_id)
    result = await conn.execute(query.order_by(redemptions.c.id.desc()).limit(limit))
    return [row_to(MerchantRedemptionRow, row) for row in result.mappings()]


async def redemptions_by_ids(
    conn: AsyncConnection, ids: Sequence[int]
) -> dict[int, MerchantRedemptionRow]:
    """Redemptions by id with their deal and merchant (the ``node`` and live loaders)."""
    result = await conn.execute(_merchant_redemptions().where(any_of(redemptions.c.id, ids)))
    return {row["id"]: row_to(MerchantRedemptionRow, row) for row in result.mappings()}


async def count_redemptions_of_merchant(conn: AsyncConnection, merchant_id: int) -> int:
    result = await conn.execute(
        select(func.count())
        .select_from(redemptions)
        .where(redemptions.c.merchant_id == merchant_id)
    )
    return int(result.scalar_one())


async def voucher_by_hash(conn: AsyncConnection, code_hash: bytes) -> VoucherRow | None:
    """The voucher without a lock: callers lock its booking first, then the voucher."""
    result = await conn.execute(select(*VOUCHER_COLUMNS).where(vouchers.c.code_hash == code_hash))
    row = result.mappings().first()
    return None if row is None else row_to(VoucherRow, row)


async def bookings_with_expired_vouchers(conn: AsyncConnection, limit: int) -> list[int]:
    """Paid bookings holding ISSUED, not free vouchers whose validity has ended (oldest
    first; the partial index ``ix_vouchers_issued_valid_until`` finds them)."""
    paid = (
        select(payments.c.id)
        .where(
            payments.c.booking_id == vouchers.c.booking_id,
            payments.c.provider_payment_id.is_not(None),
            payments.c.status.in_(("SUCCEEDED", "PARTIALLY_REFUNDED")),
        )
        .exists()
    )
    result = await conn.execute(
        select(vouchers.c.booking_id)
        .where(
            vouchers.c.status == "ISSUED",
            vouchers.c.valid_until <= func.now(),
            vouchers.c.unit_price > 0,
            paid,
        )
        .group_by(vouchers.c.booking_id)
        .order_by(func.min(vouchers.c.valid_until))
        .limit(limit)
    )
    return [int(b) for b in result.scalars()]


async def lock_expired_of_booking(conn: AsyncConnection, booking_id: int) -> list[VoucherRow]:
    """The booking's ISSUED vouchers past their validity, under row locks."""
    result = await conn.execute(
        select(*VOUCHER_COLUMNS)
        .where(
            vouchers.c.booking_id == booking_id,
            vouchers.c.status == "ISSUED",
            vouchers.c.valid_until <= func.now(),
        )
        .order_by(vouchers.c.id)
        .with_for_update(key_share=True)
    )
    return [row_to(VoucherRow, row) for row in result.mappings()]


async def last_refund_reason(conn: AsyncConnection, booking_id: int) -> str | None:
    """The reason of the latest refund that took one of the booking's vouchers."""
    result = await conn.execute(
        select(refunds.c.reason)
        .join(vouchers, vouchers.c.refund_id == refunds.c.id)
        .where(vouchers.c.booking_id == booking_id)
        .order_by(refunds.c.id.desc())
        .limit(1)
    )
    reason: str | None = result.scalar_one_or_none()
    return reason


async def count_of_refund(conn: AsyncConnection, refund_id: int) -> int:
    """How many vouchers a refund took."""
    result = await conn.execute(
        select(func.count()).select_from(vouchers).where(vouchers.c.refund_id == refund_id)
    )
    return int(result.scalar_one())
