"""Wallet writes of ``issueCoupon``: many issued coupons in one statement, once per customer.

``uq_claimed_coupons_issued`` (migration 0015) holds one ``source = 'ISSUE'`` row per
(coupon, customer); rows that would repeat one are skipped (``ON CONFLICT DO NOTHING``), so
a replayed or repeated issue gives nobody a second copy. Each inserted row fires the wallet
NOTIFY trigger (``walletUpdates``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.tables import claimed_coupons, coupons

CHUNK = 2000


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """One member's new wallet entry: who, and the code's nonce and hash."""

    user_id: str
    code_nonce: bytes
    code_hash: bytes


async def insert_issued(
    conn: AsyncConnection,
    coupon_id: int,
    merchant_id: int,
    valid_until: datetime,
    codes: Sequence[IssuedCode],
) -> list[int]:
    """Issue the coupon to each customer of ``codes`` who does not hold an issued copy yet;
    the ids of the rows written (in ``codes``' order of customers)."""
    written: list[int] = []
    for start in range(0, len(codes), CHUNK):
        rows = [
            {
                "coupon_id": coupon_id,
                "merchant_id": merchant_id,
                "user_id": code.user_id,
                "code_nonce": code.code_nonce,
                "code_hash": code.code_hash,
                "valid_until": valid_until,
                "source": "ISSUE",
            }
            for code in codes[start : start + CHUNK]
        ]
        result = await conn.execute(
            insert(claimed_coupons)
            .values(rows)
            .on_conflict_do_nothing(
                index_elements=["coupon_id", "user_id"], index_where=text("source = 'ISSUE'")
            )
            .returning(claimed_coupons.c.id)
        )
        written.extend(int(ident) for ident in result.scalars())
    return written


async def take_units(conn: AsyncConnection, coupon_id: int, units: int) -> bool:
    """Take ``units`` of a coupon's stock (under its row lock); False when fewer remain.
    Unlimited coupons always have enough."""
    result = await conn.execute(
        update(coupons)
        .where(
            coupons.c.id == coupon_id,
            func.coalesce(coupons.c.remaining_quantity, units) >= units,
        )
        .values(remaining_quantity=coupons.c.remaining_quantity - units)
        .returning(coupons.c.id)
    )
    return result.first() is not None


async def issued_count(conn: AsyncConnection, coupon_id: int) -> int:
    """How many customers hold an issued copy of the coupon."""
    result = await conn.execute(
        select(func.count())
        .select_from(claimed_coupons)
        .where(claimed_coupons.c.coupon_id == coupon_id, claimed_coupons.c.source == "ISSUE")
    )
    return int(result.scalar_one())
