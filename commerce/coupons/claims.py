"""``claimCoupon``: a customer takes one coupon into their wallet, exactly under races, and
``me.coupons`` lists the wallet.

One transaction, like ``bookDeal``: the idempotency key is claimed first (a replay returns
the first outcome), then the coupon's row is locked, so every claim of one coupon runs one
after another. Under that lock the audience is checked (``commerce/members/crm.py``
``is_eligible``: MEMBERS and SEGMENT need a membership or the segment's filter), the
per-user limit counted, and one unit taken by a conditional decrement of
``remaining_quantity``; 32 claims of a coupon with 10 units give exactly 10.

A claim records where the coupon was found, as a booking does: a valid ``nearbyCoupons``
attribution token of this coupon (``coupon_attribution_key``, at most 7 days old) gives its
channel and partner key; none, or a forged, stale or other coupon's token, is DIRECT through
the request's partner key (never an error). ``Merchant.insights`` counts claims and their
redemptions per channel from these columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.coupons.campaigns import visible
from commerce.coupons.codes import ClaimedCouponView, code_of, hash_of, view_of
from commerce.errors import NotFoundError
from commerce.idempotency import check_key, decode_outcome, encode_outcome, fingerprint, reused_key
from commerce.identity.principal import Principal
from commerce.insights.attribution import Channel, coupon_attribution_key, read_token
from commerce.keyset import KeysetPage, page_of
from commerce.members.crm import is_eligible
from commerce.orders.services import OrderServices
from commerce.orders.vouchers import new_nonce
from commerce.outcomes import (
    CLAIM_COUPON_OUTCOMES,
    ClaimCouponOutcome,
    CouponClaimed,
    CouponNotForYou,
    CouponSoldOut,
    PerUserLimitReached,
)
from db import coupons_sql, idempotency_sql
from db.coupon_rows import CouponRow
from db.coupons_sql import NewClaim
from db.database import Database

OPERATION = "claimCoupon"
SUCCESS_KIND = "CouponClaimed"


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    coupon_id: int
    idempotency_key: str
    attribution: str | None = None
    partner_key_id: int | None = None  # the request's partner key (X-API-Key)


async def claim_coupon(
    database: Database,
    services: OrderServices,
    principal: Principal,
    request: ClaimRequest,
    now: datetime,
) -> ClaimCouponOutcome:
    key = check_key(request.idempotency_key)
    stamp = fingerprint(request.coupon_id)
    subject = principal.subject
    async with database.write() as conn:
        if not await idempotency_sql.claim(conn, subject, OPERATION, key, stamp):
            return await _replay(conn, services, subject, key, stamp)
        coupon = await coupons_sql.lock_coupon(conn, request.coupon_id)
        if coupon is None or not visible(coupon, principal):
            raise NotFoundError("no Coupon with this ID")
        outcome = await _claim(conn, services, subject, coupon, request, key, now)
        await idempotency_sql.store_outcome(conn, subject, OPERATION, key, _stored(outcome))
    return outcome


async def _claim(
    conn: AsyncConnection,
    services: OrderServices,
    subject: str,
    coupon: CouponRow,
    request: ClaimRequest,
    key: str,
    now: datetime,
) -> ClaimCouponOutcome:
    if coupon.status != "PUBLISHED" or not coupon.valid_from <= now < coupon.valid_until:
        return CouponNotForYou(_closed(coupon, now))
    if not await is_eligible(conn, coupon.audience, coupon.merchant_id, coupon.segment_id, subject):
        who = "members" if coupon.audience == "MEMBERS" else "a group of members"
        return CouponNotForYou(f"this coupon is for {who} of the merchant only")
    held = await coupons_sql.claims_of_user(conn, coupon.id, subject)
    if held >= coupon.per_user_limit:
        return PerUserLimitReached(
            f"one customer may claim this coupon {coupon.per_user_limit} time(s)",
            coupon.per_user_limit,
        )
    if not await coupons_sql.take_one(conn, coupon.id):
        return CouponSoldOut("every coupon of this campaign has been claimed")
    nonce = new_nonce()
    view_key = services.config.voucher_key
    channel, partner = _source(view_key, request, coupon.id, now)
    row = await coupons_sql.insert_claimed(
        conn,
        NewClaim(
            coupon_id=coupon.id,
            merchant_id=coupon.merchant_id,
            user_id=subject,
            code_nonce=nonce,
            code_hash=hash_of(view_key, code_of(view_key, nonce)),
            valid_until=coupon.valid_until,
            source="CLAIM",
            idempotency_key=key,
            channel=channel.value,
            partner_key_id=partner,
        ),
    )
    return CouponClaimed(view_of(row, view_key))


def _source(
    secret: bytes, request: ClaimRequest, coupon_id: int, now: datetime
) -> tuple[Channel, int | None]:
    """The claim's channel and partner key: a valid token of this coupon, else DIRECT
    through the request's partner key."""
    found = read_token(coupon_attribution_key(secret), request.attribution, coupon_id, now)
    if found is not None:
        return found.channel, found.partner_key_id
    return Channel.DIRECT, request.partner_key_id


def _closed(coupon: CouponRow, now: datetime) -> str:
    if coupon.status == "PUBLISHED" and now < coupon.valid_from:
        return f"this coupon can be claimed from {coupon.valid_from.isoformat()}"
    if coupon.status == "PUBLISHED":
        return "this coupon's validity is over"
    return f"this coupon is {coupon.status} and cannot be claimed"


def _stored(outcome: ClaimCouponOutcome) -> dict[str, Any]:
    if isinstance(outcome, CouponClaimed):  # by id: the code is never stored
        return {"kind": SUCCESS_KIND, "fields": {"claimed_id": outcome.claimed.row.id}}
    return encode_outcome(outcome)


async def _replay(
    conn: AsyncConnection, services: OrderServices, subject: str, key: str, stamp: str
) -> ClaimCouponOutcome:
    stored_stamp, outcome = await idempotency_sql.read(conn, subject, OPERATION, key)
    if stored_stamp != stamp:
        raise reused_key()
    assert outcome is not None
    if outcome["kind"] == SUCCESS_KIND:
        claimed_id = outcome["fields"]["claimed_id"]
        row = (await coupons_sql.claimed_by_ids(conn, [claimed_id]))[claimed_id]
        return CouponClaimed(view_of(row, services.config.voucher_key))
    replayed: ClaimCouponOutcome = decode_outcome(outcome, CLAIM_COUPON_OUTCOMES)
    return replayed


async def coupons_of_user(
    database: Database, services: OrderServices, user_id: str, before_id: int | None, limit: int
) -> KeysetPage[ClaimedCouponView]:
    """The user's wallet, newest first, every status (``me.coupons``)."""
    async with database.read() as conn:
        rows, total = await coupons_sql.claimed_of_user(conn, user_id, before_id, limit + 1)
    views = [view_of(row, services.config.voucher_key) for row in rows]
    return page_of(views, limit, total)


async def claimed_coupon(
    database: Database, services: OrderServices, principal: Principal, claimed_id: int
) -> ClaimedCouponView:
    """One claimed coupon with its code, for its owner and the merchant's staff
    (``NOT_FOUND`` for anybody else, as if it did not exist)."""
    async with database.read() as conn:
        row = (await coupons_sql.claimed_by_ids(conn, [claimed_id])).get(claimed_id)
    if row is None or not (
        row.user_id == principal.subject or principal.is_staff_of(row.merchant_id)
    ):
        raise NotFoundError("no ClaimedCoupon with this ID")
    return view_of(row, services.config.voucher_key)
