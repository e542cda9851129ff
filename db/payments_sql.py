"""Payments, their append-only event log and refunds; every money move is conditional."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import CursorResult, case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.catalog_sql import any_of
from db.order_rows import PaymentRow, RefundRow
from db.rows import row_to
from db.tables import bookings, payment_events, payments, refunds

PAYMENT_COLUMNS = tuple(payments.c[name] for name in PaymentRow.__dataclass_fields__)
REFUND_COLUMNS = tuple(refunds.c[name] for name in RefundRow.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class NewPayment:
    booking_id: int
    user_id: str
    idempotency_key: str
    fingerprint: str
    provider: str
    payment_method: str
    currency: str
    amount: Decimal
    return_url: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    provider: str
    event_id: str
    type: str
    payment_id: int | None
    amount: Decimal | None = None
    payload: dict[str, Any] | None = None


async def insert_payment(conn: AsyncConnection, new: NewPayment) -> PaymentRow:
    """One attempt; the provider sees an idempotency key derived from its id (a retry of
    the provider call reuses it). The new row stays locked by this transaction."""
    payment_id = int(
        (
            await conn.execute(select(func.nextval(func.pg_get_serial_sequence("payments", "id"))))
        ).scalar_one()
    )
    result = await conn.execute(
        payments.insert()
        .values(
            id=payment_id,
            booking_id=new.booking_id,
            user_id=new.user_id,
            idempotency_key=new.idempotency_key,
            fingerprint=new.fingerprint,
            provider=new.provider,
            provider_idempotency_key=f"o2o-booking-{new.booking_id}-pay-{payment_id}",
            payment_method=new.payment_method,
            currency=new.currency,
            amount=new.amount,
            return_url=new.return_url,
            provider_called_at=func.now(),  # the caller calls the provider next
        )
        .returning(*PAYMENT_COLUMNS)
    )
    payment: PaymentRow = row_to(PaymentRow, result.mappings().one())
    return payment


async def claim_provider_call(conn: AsyncConnection, payment_id: int, stale_seconds: int) -> bool:
    """Claim the provider call of a PENDING attempt without an answer; False while another
    request's call is in flight (claimed less than ``stale_seconds`` ago)."""
    stale = func.now() - func.make_interval(0, 0, 0, 0, 0, 0, stale_seconds)
    result = await conn.execute(
        update(payments)
        .where(
            payments.c.id == payment_id,
            payments.c.status == "PENDING",
            payments.c.provider_payment_id.is_(None),
            (payments.c.provider_called_at.is_(None)) | (payments.c.provider_called_at < stale),
        )
        .values(provider_called_at=func.now())
        .returning(payments.c.id)
    )
    return result.first() is not None


async def release_provider_call(conn: AsyncConnection, payment_id: int) -> None:
    """The call failed without an answer: a replay may call again at once."""
    await conn.execute(
        update(payments)
        .where(payments.c.id == payment_id, payments.c.status == "PENDING")
        .values(provider_called_at=None)
    )


async def payment_by_key(conn: AsyncConnection, user_id: str, key: str) -> PaymentRow | None:
    result = await conn.execute(
        select(*PAYMENT_COLUMNS).where(
            payments.c.user_id == user_id, payments.c.idempotency_key == key
        )
    )
    row = result.mappings().first()
    return None if row is None else row_to(PaymentRow, row)


# The payment a booking shows: its one attempt that is not FAILED, else its latest attempt.
CURRENT_FIRST = (payments.c.status == "FAILED", payments.c.id.desc())


async def payment_of_booking(conn: AsyncConnection, booking_id: int) -> PaymentRow | None:
    result = await conn.execute(
        select(*PAYMENT_COLUMNS)
        .where(payments.c.booking_id == booking_id)
        .order_by(*CURRENT_FIRST)
        .limit(1)
    )
    row = result.mappings().first()
    return None if row is None else row_to(PaymentRow, row)


async def lock_payment(conn: AsyncConnection, payment_id: int) -> PaymentRow | None:
    result = await conn.execute(
        select(*PAYMENT_COLUMNS).where(payments.c.id == payment_id).with_for_update(key_share=True)
    )
    row = result.mappings().first()
    return None if row is None else row_to(PaymentRow, row)


async def payment_id_by_provider_ref(
    conn: AsyncConnection, provider: str, provider_payment_id: str
) -> int | None:
    result = await conn.execute(
        select(payments.c.id).where(
            payments.c.provider == provider, payments.c.provider_payment_id == provider_payment_id
        )
    )
    return result.scalar_one_or_none()


async def payments_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, PaymentRow]:
    result = await conn.execute(select(*PAYMENT_COLUMNS).where(any_of(payments.c.id, ids)))
    return {row["id"]: row_to(PaymentRow, row) for row in result.mappings()}


async def payments_of_bookings(
    conn: AsyncConnection, booking_ids: Sequence[int]
) -> dict[int, PaymentRow]:
    """The current payment of each booking (see ``CURRENT_FIRST``)."""
    result = await conn.execute(
        select(*PAYMENT_COLUMNS)
        .where(any_of(payments.c.booking_id, booking_ids))
        .order_by(payments.c.booking_id, *CURRENT_FIRST)
    )
    current: dict[int, PaymentRow] = {}
    for row in result.mappings():  # a booking's current attempt comes first
        current.setdefault(row["booking_id"], row_to(PaymentRow, row))
    return current


async def refundable_left(conn: AsyncConnection, payment_id: int) -> Decimal:
    """What a payment may still refund: captured less its refunds that did not fail (the
    PENDING ones included). Migration 0012's trigger enforces the same bound on insert."""
    committed = (
        select(func.coalesce(func.sum(refunds.c.amount), 0))
        .where(refunds.c.payment_id == payment_id, refunds.c.status != "FAILED")
        .scalar_subquery()
    )
    result = await conn.execute(
        select(payments.c.amount_captured - committed).where(payments.c.id == payment_id)
    )
    left = result.scalar_one_or_none()
    return Decimal(0) if left is None else Decimal(left)


async def set_provider_ref(
    conn: AsyncConnection, payment_id: int, provider_payment_id: str, next_action_url: str | None
) -> PaymentRow | None:
    """The PENDING payment with the provider's reference; None when it is not PENDING."""
    result = await conn.execute(
        update(payments)
        .where(payments.c.id == payment_id, payments.c.status == "PENDING")
        .values(
            provider_payment_id=provider_payment_id,
            next_action_url=next_action_url,
            updated_at=func.now(),
        )
        .returning(*PAYMENT_COLUMNS)
    )
    return _payment(result)


async def mark_succeeded(
    conn: AsyncConnection, payment_id: int, provider_ref: str
) -> PaymentRow | None:
    """PENDING -> SUCCEEDED with the whole amount authorised and captured (once)."""
    result = await conn.execute(
        update(payments)
        .where(payments.c.id == payment_id, payments.c.status == "PENDING")
        .values(
            status="SUCCEEDED",
            provider_payment_id=provider_ref,
            amount_authorized=payments.c.amount,
            amount_captured=payments.c.amount,
            next_action_url=None,
            updated_at=func.now(),
        )
        .returning(*PAYMENT_COLUMNS)
    )
    return _payment(result)


async def mark_failed(
    conn: AsyncConnection, payment_id: int, provider_ref: str | None, message: str
) -> PaymentRow | None:
    """PENDING -> FAILED (once)."""
    values: dict[str, Any] = {"status": "FAILED", "failure_message": message[:500]}
    if provider_ref is not None:
        values["provider_payment_id"] = provider_ref
    result = await conn.execute(
        update(payments)
        .where(payments.c.id == payment_id, payments.c.status == "PENDING")
        .values(**values, next_action_url=None, updated_at=func.now())
        .returning(*PAYMENT_COLUMNS)
    )
    return _payment(result)


def _payment(result: CursorResult[Any]) -> PaymentRow | None:
    row = result.mappings().first()
    return None if row is None else row_to(PaymentRow, row)


async def add_refunded(conn: AsyncConnection, payment_id: int, amount: Decimal) -> bool:
    """Count a refund against the payment; the CHECK bounds it by what was captured."""
    total = payments.c.amount_refunded + amount
    result = await conn.execute(
        update(payments)
        .where(
            payments.c.id == payment_id,
            payments.c.status.in_(["SUCCEEDED", "PARTIALLY_REFUNDED"]),
            total <= payments.c.amount_captured,
        )
        .values(
            amount_refunded=total,
            status=case(
                (total == payments.c.amount_captured, "REFUNDED"), else_="PARTIALLY_REFUNDED"
            ),
            updated_at=func.now(),
        )
        .returning(payments.c.id)
    )
    return result.first() is not None


async def record_event(conn: AsyncConnection, event: Event) -> bool:
    """Append to the log; False when this provider event was recorded before (a replay)."""
    statement = (
        insert(payment_events)
        .values(
            provider=event.provider,
            event_id=event.event_id,
            type=event.type,
            payment_id=event.payment_id,
            amount=event.amount,
            payload=event.payload or {},
        )
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(payment_events.c.id)
    )
    return (await conn.execute(statement)).first() is not None


async def insert_refund(
    conn: AsyncConnection, payment: PaymentRow, amount: Decimal, reason: str | None
) -> RefundRow:
    refund_id = int(
        (
            await conn.execute(select(func.nextval(func.pg_get_serial_sequence("refunds", "id"))))
        ).scalar_one()
    )
    result = await conn.execute(
        refunds.insert()
        .values(
            id=refund_id,
            payment_id=payment.id,
            booking_id=payment.booking_id,
            amount=amount,
            currency=payment.currency,
            provider_idempotency_key=f"o2o-refund-{refund_id}",
            reason=reason,
        )
        .returning(*REFUND_COLUMNS)
    )
    refund: RefundRow = row_to(RefundRow, result.mappings().one())
    return refund


async def finish_refund(
    conn: AsyncConnection, refund_id: int, status: str, provider_refund_id: str | None
) -> RefundRow | None:
    """PENDING -> SUCCEEDED or FAILED, once; None when it was settled before."""
    result = await conn.execute(
        update(refunds)
        .where(refunds.c.id == refund_id, refunds.c.status == "PENDING")
        .values(status=status, provider_refund_id=provider_refund_id)
        .returning(*REFUND_COLUMNS)
    )
    row = result.mappings().first()
    return None if row is None else row_to(RefundRow, row)


async def stale_refunds(conn: AsyncConnection, older_than_seconds: int, limit: int) -> list[Any]:
    """PENDING refunds whose provider call never finished (a crash or a timeout)."""
    age = func.make_interval(0, 0, 0, 0, 0, 0, older_than_seconds)
    result = await conn.execute(
        select(
            refunds.c.id,
            refunds.c.booking_id,
            refunds.c.payment_id,
            refunds.c.amount,
            refunds.c.currency,
            refunds.c.provider_idempotency_key,
            payments.c.provider,
            payments.c.provider_payment_id,
        )
        .join(payments, payments.c.id == refunds.c.payment_id)
        .where(refunds.c.status == "PENDING", refunds.c.created_at < func.now() - age)
        .order_by(refunds.c.id)
        .limit(limit)
    )
    return list(result.all())


async def stale_pending_payments(
    conn: AsyncConnection, grace_seconds: int, limit: int
) -> list[int]:
    """PENDING payments of holds expired more than ``grace_seconds`` ago."""
    grace = func.make_interval(0, 0, 0, 0, 0, 0, grace_seconds)
    result = await conn.execute(
        select(payments.c.id)
        .join(bookings, bookings.c.id == payments.c.booking_id)
        .where(
            payments.c.status == "PENDING",
            bookings.c.hold_expires_at < func.now() - grace,
            payments.c.updated_at < func.now() - grace,
        )
        .order_by(payments.c.id)
        .limit(limit)
    )
    return list(result.scalars())


async def refunds_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, RefundRow]:
    result = await conn.execute(select(*REFUND_COLUMNS).where(any_of(refunds.c.id, ids)))
    return {row["id"]: row_to(RefundRow, row) for row in result.mappings()}
