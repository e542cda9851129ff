"""``node(id)`` resolvers of the orders' private objects, registered in :mod:`schema.nodes`:
only their owner (or, for a voucher, staff of its merchant; for a redemption, staff of its
merchant only), or an admin, may read them; anyone else gets FORBIDDEN."""

from __future__ import annotations

from commerce.errors import NotFoundError
from schema.orders.types import Booking, Payment, Redemption, Refund, Voucher
from schema.types import ContextInfo


async def resolve_booking(info: ContextInfo, ident: int) -> Booking:
    row = await info.context.loaders.booking.load(ident)
    if row is None:
        raise NotFoundError("no Booking with this ID")
    info.context.require_viewer().require_owner(row.user_id, "booking")
    return Booking.from_row(row)


async def resolve_payment(info: ContextInfo, ident: int) -> Payment:
    row = await info.context.loaders.payment.load(ident)
    if row is None:
        raise NotFoundError("no Payment with this ID")
    info.context.require_viewer().require_owner(row.user_id, "payment")
    return Payment.from_row(row)


async def resolve_refund(info: ContextInfo, ident: int) -> Refund:
    row = await info.context.loaders.refund.load(ident)
    if row is None:
        raise NotFoundError("no Refund with this ID")
    await resolve_booking(info, row.booking_id)
    return Refund.from_row(row)


async def resolve_voucher(info: ContextInfo, ident: int) -> Voucher:
    row = await info.context.loaders.voucher.load(ident)
    if row is None:
        raise NotFoundError("no Voucher with this ID")
    viewer = info.context.require_viewer()
    if not viewer.is_staff_of(row.merchant_id):
        viewer.require_owner(row.user_id, "voucher")
    return Voucher.from_view(info.context.require_services().voucher_view(row))


async def resolve_redemption(info: ContextInfo, ident: int) -> Redemption:
    """As ``me.redemptions`` shows it: to staff of the merchant it was redeemed at."""
    row = await info.context.loaders.redemption.load(ident)
    if row is None:
        raise NotFoundError("no Redemption with this ID")
    info.context.require_viewer().require_staff_of(row.merchant_id)
    return Redemption.from_row(row)
