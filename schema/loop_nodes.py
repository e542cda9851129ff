"""``node(id)`` for the loop's private objects: only their owner (or, for a voucher, staff
of its merchant, or an admin) may read them; anyone else gets FORBIDDEN."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from commerce.errors import NotFoundError
from geo import payment_sql
from schema.loop_types import Booking, Payment, Refund, Voucher
from schema.types import ContextInfo, Node


async def _booking(info: ContextInfo, ident: int) -> Booking:
    row = await info.context.loop_loaders.booking.load(ident)
    if row is None:
        raise NotFoundError("no Booking with this ID")
    info.context.require_viewer().require_owner(row.user_id, "booking")
    return Booking.from_row(row)


async def _payment(info: ContextInfo, ident: int) -> Payment:
    async with info.context.database.read() as conn:
        row = (await payment_sql.payments_by_ids(conn, [ident])).get(ident)
    if row is None:
        raise NotFoundError("no Payment with this ID")
    info.context.require_viewer().require_owner(row.user_id, "payment")
    return Payment.from_row(row)


async def _refund(info: ContextInfo, ident: int) -> Refund:
    row = await info.context.loop_loaders.refund.load(ident)
    if row is None:
        raise NotFoundError("no Refund with this ID")
    await _booking(info, row.booking_id)
    return Refund.from_row(row)


async def _voucher(info: ContextInfo, ident: int) -> Voucher:
    row = await info.context.loop_loaders.voucher.load(ident)
    if row is None:
        raise NotFoundError("no Voucher with this ID")
    viewer = info.context.require_viewer()
    if not viewer.is_staff_of(row.merchant_id):
        viewer.require_owner(row.user_id, "voucher")
    return Voucher.from_row(row, info.context.require_loop().config.voucher_key)


LOOP_NODES: dict[str, Callable[[ContextInfo, int], Awaitable[Node]]] = {
    "Booking": _booking,
    "Payment": _payment,
    "Refund": _refund,
    "Voucher": _voucher,
}
