"""SQL of coupon campaigns, claimed coupons and their redemptions (migration 0013).

Writes run in the caller's transaction; locks are taken in one order everywhere: the coupon
row (``FOR NO KEY UPDATE``), then the claimed coupon's row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog_sql import STORE_COLUMNS, any_of
from db.coupon_rows import ClaimedCouponRow, CouponRedemptionRow, CouponRow
from db.rows import StoreRow, row_to
from db.tables import claimed_coupons, coupon_redemptions, coupon_stores, coupons, stores

COUPON_COLUMNS = tuple(coupons.c[name] for name in CouponRow.__dataclass_fields__)
CLAIMED_COLUMNS = tuple(claimed_coupons.c[name] for name in ClaimedCouponRow.__dataclass_fields__)
REDEMPTION_COLUMNS = tuple(
    coupon_redemptions.c[name] for name in CouponRedemptionRow.__dataclass_fields__
)


@dataclass(frozen=True, slots=True)
class CouponValues:
    """What a merchant writes of a coupon (stock and status apart)."""

    title: str
    kind: str
    percent_off: Decimal | None
    amount_off: Decimal | None
    free_item: str | None
    currency: str | None
    min_bill: Decimal | None
    valid_from: datetime
    valid_until: datetime
    per_user_limit: int
    audience: str
    segment_id: int | None


@dataclass(frozen=True, slots=True)
class CouponStock:
    total_quantity: int | None
    remaining_quantity: int | None


async def insert_coupon(
    conn: AsyncConnection, merchant_id: int, values: CouponValues, stock: CouponStock
) -> CouponRow:
    result = await conn.execute(
        insert(coupons)
        .values(merchant_id=merchant_id, status="DRAFT", **asdict(values), **asdict(stock))
        .returning(*COUPON_COLUMNS)
    )
    row_of: CouponRow = row_to(CouponRow, result.mappings().one())
    return row_of


async def update_coupon(
    conn: AsyncConnection, coupon_id: int, values: CouponValues, stock: CouponStock
) -> CouponRow:
    result = await conn.execute(
        update(coupons)
        .where(coupons.c.id == coupon_id)
        .values(version=coupons.c.version + 1, **asdict(values), **asdict(stock))
        .returning(*COUPON_COLUMNS)
    )
    row_of: CouponRow = row_to(CouponRow, result.mappings().one())
    return row_of


async def set_status(conn: AsyncConnection, coupon_id: int, status: str) -> CouponRow:
    result = await conn.execute(
        update(coupons)
        .where(coupons.c.id == coupon_id)
        .values(status=status, version=coupons.c.version + 1)
        .returning(*COUPON_COLUMNS)
    )
    row_of: CouponRow = row_to(CouponRow, result.mappings().one())
    return row_of


async def lock_coupon(conn: AsyncConnection, coupon_id: int) -> CouponRow | None:
    """The coupon, its row locked until the transaction ends (None: no such coupon)."""
    result = await conn.execute(
        select(*COUPON_COLUMNS).where(coupons.c.id == coupon_id).with_for_update(key_share=True)
    )
    row = result.mappings().first()
    return None if row is None else row_to(CouponRow, row)


async def take_one(conn: AsyncConnection, coupon_id: int) -> bool:
    """One unit of a limited coupon taken (under its row lock); False when none is left.
    An unlimited coupon (NULL stock) always gives one."""
    result = await conn.execute(
        update(coupons)
        .where(
            coupons.c.id == coupon_id,
            (coupons.c.remaining_quantity.is_(None)) | (coupons.c.remaining_quantity > 0),
        )
        .values(remaining_quantity=coupons.c.remaining_quantity - 1)
        .returning(coupons.c.id)
    )
    return result.first() is not None


async def set_coupon_stores(
    conn: AsyncConnection, coupon_id: int, store_ids: Sequence[int]
) -> None:
    await conn.execute(delete(coupon_stores).where(coupon_stores.c.coupon_id == coupon_id))
    if store_ids:
        rows = [{"coupon_id": coupon_id, "store_id": store_id} for store_id in store_ids]
        await conn.execute(insert(coupon_stores), rows)


async def coupon_store_ids(conn: AsyncConnection, coupon_id: int) -> list[int]:
    result = await conn.execute(
        select(coupon_stores.c.store_id)
        .where(coupon_stores.c.coupon_id == coupon_id)
        .order_by(coupon_stores.c.store_id)
    )
    return list(result.scalars())


async def valid_at_store(conn: AsyncConnection, coupon_id: int, store_id: int) -> bool:
    result = await conn.execute(
        select(coupon_stores.c.coupon_id).where(
            coupon_stores.c.coupon_id == coupon_id, coupon_stores.c.store_id == store_id
        )
    )
    return result.first() is not None


async def coupons_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, CouponRow]:
    result = await conn.execute(select(*COUPON_COLUMNS).where(any_of(coupons.c.id, ids)))
    return {row["id"]: row_to(CouponRow, row) for row in result.mappings()}


async def stores_of_coupons(
    conn: AsyncConnection, coupon_ids: Sequence[int]
) -> dict[int, list[StoreRow]]:
    result = await conn.execute(
        select(coupon_stores.c.coupon_id, *STORE_COLUMNS)
        .join(stores, stores.c.id == coupon_stores.c.store_id)
        .where(any_of(coupon_stores.c.coupon_id, coupon_ids))
        .order_by(coupon_stores.c.coupon_id, stores.c.id)
    )
    grouped: dict[int, list[StoreRow]] = {c: [] for c in coupon_ids}
    for row in result.mappings():
        grouped[row["coupon_id"]].append(row_to(StoreRow, row))
    return grouped


async def coupons_of_merchant(
    conn: AsyncConnection,
    merchant_id: int,
    after_id: int,
    limit: int,
    now: datetime | None,
) -> list[CouponRow]:
    """The merchant's coupons by id after ``after_id``; with ``now``, only those published
    and not over yet (upcoming included), else every status."""
    statement = select(*COUPON_COLUMNS).where(
        coupons.c.merchant_id == merchant_id, coupons.c.id > after_id
    )
    if now is not None:
        statement = statement.where(coupons.c.status == "PUBLISHED", coupons.c.valid_until > now)
    result = await conn.execute(statement.order_by(coupons.c.id).limit(limit))
    return [row_to(CouponRow, row) for row in result.mappings()]


# --- claimed coupons --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewClaim:
    coupon_id: int
    merchant_id: int
    user_id: str
    code_nonce: bytes
    code_hash: bytes
    valid_until: datetime
    source: str
    idempotency_key: str | None
    channel: str | None = None
    partner_key_id: int | None = None


async def insert_claimed(conn: AsyncConnection, claim: NewClaim) -> ClaimedCouponRow:
    result = await conn.execute(
        insert(claimed_coupons).values(**asdict(claim)).returning(*CLAIMED_COLUMNS)
    )
    row_of: ClaimedCouponRow = row_to(ClaimedCouponRow, result.mappings().one())
    return row_of


async def claims_of_user(conn: AsyncConnection, coupon_id: int, user_id: str) -> int:
    """How many times ``user_id`` holds or held the coupon (claimed or issued, any status)."""
    result = await conn.execute(
        select(func.count()).where(
            claimed_coupons.c.coupon_id == coupon_id, claimed_coupons.c.user_id == user_id
        )
    )
    return int(result.scalar_one())


async def claimed_by_key(conn: AsyncConnection, user_id: str, key: str) -> ClaimedCouponRow | None:
    result = await conn.execute(
        select(*CLAIMED_COLUMNS).where(
            claimed_coupons.c.user_id == user_id, claimed_coupons.c.idempotency_key == key
        )
    )
    row = result.mappings().first()
    return None if row is None else row_to(ClaimedCouponRow, row)


async def claimed_id_by_hash(conn: AsyncConnection, hashed: bytes) -> tuple[int, int] | None:
    """(claimed coupon id, coupon id) of a code hash, without a lock."""
    result = await conn.execute(
        select(claimed_coupons.c.id, claimed_coupons.c.coupon_id).where(
            claimed_coupons.c.code_hash == hashed
        )
    )
    row = result.first()
    return None if row is None else (int(row[0]), int(row[1]))


async def lock_claimed(conn: AsyncConnection, claimed_id: int) -> ClaimedCouponRow | None:
    result = await conn.execute(
        select(*CLAIMED_COLUMNS)
        .where(claimed_coupons.c.id == claimed_id)
        .with_for_update(key_share=True)
    )
    row = result.mappings().first()
    return None if row is None else row_to(ClaimedCouponRow, row)


async def set_claimed_status(
    conn: AsyncConnection, claimed_id: int, status: str
) -> ClaimedCouponRow:
    result = await conn.execute(
        update(claimed_coupons)
        .where(claimed_coupons.c.id == claimed_id)
        .values(status=status)
        .returning(*CLAIMED_COLUMNS)
    )
    row_of: ClaimedCouponRow = row_to(ClaimedCouponRow, result.mappings().one())
    return row_of


async def claimed_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, ClaimedCouponRow]:
    result = await conn.execute(select(*CLAIMED_COLUMNS).where(any_of(claimed_coupons.c.id, ids)))
    return {row["id"]: row_to(ClaimedCouponRow, row) for row in result.mappings()}


async def claimed_of_user(
    conn: AsyncConnection, user_id: str, before_id: int | None, limit: int
) -> tuple[list[ClaimedCouponRow], int]:
    """The user's claimed coupons newest first before ``before_id`` (``limit`` rows), and how
    many they hold in all."""
    statement = select(*CLAIMED_COLUMNS).where(claimed_coupons.c.user_id == user_id)
    if before_id is not None:
        statement = statement.where(claimed_coupons.c.id < before_id)
    rows = await conn.execute(statement.order_by(claimed_coupons.c.id.desc()).limit(limit))
    total = await conn.execute(select(func.count()).where(claimed_coupons.c.user_id == user_id))
    return [row_to(ClaimedCouponRow, row) for row in rows.mappings()], int(total.scalar_one())


# --- redemptions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewRedemption:
    claimed_coupon_id: int
    coupon_id: int
    merchant_id: int
    store_id: int
    staff_id: str
    bill_amount: Decimal
    discount: Decimal
    payable: Decimal
    currency: str


async def insert_redemption(
    conn: AsyncConnection, redemption: NewRedemption
) -> CouponRedemptionRow:
    result = await conn.execute(
        insert(coupon_redemptions).values(**asdict(redemption)).returning(*REDEMPTION_COLUMNS)
    )
    row_of: CouponRedemptionRow = row_to(CouponRedemptionRow, result.mappings().one())
    return row_of


async def active_redemption(conn: AsyncConnection, claimed_id: int) -> CouponRedemptionRow | None:
    result = await conn.execute(
        select(*REDEMPTION_COLUMNS).where(
            coupon_redemptions.c.claimed_coupon_id == claimed_id,
            coupon_redemptions.c.reversed_at.is_(None),
        )
    )
    row = result.mappings().first()
    return None if row is None else row_to(CouponRedemptionRow, row)


async def within_window(conn: AsyncConnection, redemption_id: int, seconds: int) -> bool:
    """Whether the redemption is younger than ``seconds`` (by the database clock)."""
    result = await conn.execute(
        select(
            coupon_redemptions.c.redeemed_at
            > func.now() - func.make_interval(0, 0, 0, 0, 0, 0, seconds)
        ).where(coupon_redemptions.c.id == redemption_id)
    )
    return bool(result.scalar_one())


async def reverse(
    conn: AsyncConnection, redemption_id: int, staff_id: str, reason: str
) -> CouponRedemptionRow:
    result = await conn.execute(
        update(coupon_redemptions)
        .where(coupon_redemptions.c.id == redemption_id)
        .values(reversed_at=func.now(), reversed_by=staff_id, reversal_reason=reason)
        .returning(*REDEMPTION_COLUMNS)
    )
    row_of: CouponRedemptionRow = row_to(CouponRedemptionRow, result.mappings().one())
    return row_of


async def redemption_by_id(conn: AsyncConnection, redemption_id: int) -> CouponRedemptionRow:
    result = await conn.execute(
        select(*REDEMPTION_COLUMNS).where(coupon_redemptions.c.id == redemption_id)
    )
    row_of: CouponRedemptionRow = row_to(CouponRedemptionRow, result.mappings().one())
    return row_of
