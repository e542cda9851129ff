"""``issueCoupon``: a merchant puts a coupon into the wallet of every member of a saved
segment (OWNER, MANAGER), once per member, in one transaction.

The idempotency key is claimed first (``commerce/idempotency.py``): a replay with the same
input returns the first count and writes nothing; the same key with other input is
``BAD_USER_INPUT``. Then the coupon's row is locked (the lock ``claimCoupon`` takes, so
stock stays exact), the segment's current members are read (at most
:data:`MAX_ISSUE_MEMBERS`; a larger segment is refused with a clear error) and one issued
wallet entry per member is written with ``ON CONFLICT DO NOTHING`` on the (coupon, customer)
index of migration 0015: a member who already got this coupon from an issue is skipped, even
by another key or another segment. ``issued`` counts only the new entries; they take units
of a limited coupon's stock (refused as a whole when too few remain). Every new entry is a
``walletUpdates`` event for its customer, sent when the transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from commerce.coupons.codes import code_of, hash_of
from commerce.errors import NotFoundError, UserInputError
from commerce.idempotency import check_key, fingerprint, reused_key
from commerce.identity import roles
from commerce.identity.principal import Principal
from commerce.members.crm import segment_subjects
from commerce.merchants import audit
from commerce.orders.services import OrderServices
from commerce.orders.vouchers import new_nonce
from db import coupons_sql, idempotency_sql, wallet_sql
from db.database import Database
from db.wallet_sql import IssuedCode

OPERATION = "issueCoupon"
MAX_ISSUE_MEMBERS = 10_000


@dataclass(frozen=True, slots=True)
class IssueRequest:
    coupon_id: int
    segment_id: int
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class CouponIssued:
    """What one issue did: new wallet entries, and the segment's size when it ran."""

    issued: int
    members: int


async def issue_coupon(
    database: Database,
    services: OrderServices,
    principal: Principal,
    request: IssueRequest,
    now: datetime,
) -> CouponIssued:
    """Issue the coupon to the segment; FORBIDDEN for anyone but the merchant's owner and
    managers, NOT_FOUND for an unknown coupon or segment, BAD_USER_INPUT for a coupon that
    cannot be issued now, a segment that is too large, or too little stock."""
    key = check_key(request.idempotency_key)
    stamp = fingerprint(request.coupon_id, request.segment_id)
    async with database.write() as conn:
        coupon = await coupons_sql.lock_coupon(conn, request.coupon_id)
        if coupon is None or not roles.can(principal, "manage_coupons", coupon.merchant_id):
            raise NotFoundError("no Coupon with this ID")
        roles.require(principal, "manage_members", coupon.merchant_id)
        if not await idempotency_sql.claim(conn, principal.subject, OPERATION, key, stamp):
            stored_stamp, outcome = await idempotency_sql.read(
                conn, principal.subject, OPERATION, key
            )
            if stored_stamp != stamp or outcome is None:
                raise reused_key()
            return CouponIssued(int(outcome["issued"]), int(outcome["members"]))
        if coupon.status != "PUBLISHED" or now >= coupon.valid_until:
            state = "expired" if coupon.status == "PUBLISHED" else coupon.status
            raise UserInputError(
                "input.couponId", f"only a PUBLISHED, valid coupon can be issued; this is {state}"
            )
        subjects = await segment_subjects(
            conn, coupon.merchant_id, request.segment_id, MAX_ISSUE_MEMBERS + 1
        )
        if len(subjects) > MAX_ISSUE_MEMBERS:
            raise UserInputError(
                "input.segmentId",
                f"a coupon is issued to at most {MAX_ISSUE_MEMBERS} members at a time; this"
                " segment has more: narrow its filter",
            )
        view_key = services.config.voucher_key
        codes = [_code(view_key, subject) for subject in subjects]
        written = await wallet_sql.insert_issued(
            conn, coupon.id, coupon.merchant_id, coupon.valid_until, codes
        )
        if written and not await wallet_sql.take_units(conn, coupon.id, len(written)):
            raise UserInputError(
                "input.couponId",
                f"only {coupon.remaining_quantity} coupons remain for {len(written)} new"
                " members: raise totalQuantity or narrow the segment",
            )
        result = CouponIssued(len(written), len(subjects))
        await idempotency_sql.store_outcome(
            conn,
            principal.subject,
            OPERATION,
            key,
            {"issued": result.issued, "members": result.members},
        )
        await audit.record(
            conn,
            principal,
            action="issue_coupon",
            entity="coupon",
            entity_id=coupon.id,
            merchant_id=coupon.merchant_id,
            after={"segment_id": request.segment_id, "issued": result.issued},
        )
    return result


def _code(view_key: bytes, subject: str) -> IssuedCode:
    nonce = new_nonce()
    return IssuedCode(subject, nonce, hash_of(view_key, code_of(view_key, nonce)))
