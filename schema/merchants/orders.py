"""``Merchant.orders``: the bookings of a merchant's deals as its staff see them.

An order shows what the merchant needs to serve it (deal, store, slot, quantity, price,
payment state, the state of each voucher) and the customer only as ``customerRef``; voucher
codes are not shown (the customer presents them).
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from commerce.merchants.orders import MerchantOrder as OrderView
from commerce.merchants.orders import OrderFilter, merchant_orders
from commerce.paging import decode_id_cursor, encode_id_cursor, page_size
from db.order_rows import VoucherRow
from schema.caller import int_id
from schema.ids import to_global_id
from schema.orders.types import BookingStatus, PaymentStatus, VoucherStatus
from schema.paging import PageInfo, page_info
from schema.types import ContextInfo, Deal, Money, Store


@strawberry.input(description="Which orders to list; every field narrows the list.")
class MerchantOrderFilter:
    status: BookingStatus | None = strawberry.field(default=None, description="Only this status.")
    deal_id: strawberry.ID | None = strawberry.field(default=None, description="Only this deal.")
    store_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this store (booked there, or valid there without one)."
    )
    created_from: datetime | None = strawberry.field(
        default=None, name="from", description="Booked at or after this instant."
    )
    created_to: datetime | None = strawberry.field(
        default=None, name="to", description="Booked before this instant."
    )


@strawberry.type(description="One voucher of an order: its state, never its code.")
class OrderVoucher:
    row: strawberry.Private[VoucherRow]
    status: VoucherStatus = strawberry.field(description="EXPIRED once validUntil has passed.")
    valid_until: datetime = strawberry.field(description="When it stops being redeemable.")
    redeemed_at: datetime | None = strawberry.field(description="When it was redeemed.")

    @strawberry.field(description="The store where it was redeemed.")
    async def redeemed_at_store(self, info: ContextInfo) -> Store | None:
        if self.row.redeemed_store_id is None:
            return None
        row = await info.context.loaders.store.load(self.row.redeemed_store_id)
        return None if row is None else Store.from_row(row)


@strawberry.type(description="A booking of one of the merchant's deals, for its staff.")
class MerchantOrder:
    view: strawberry.Private[OrderView]
    id: strawberry.ID = strawberry.field(description="The booking's ID.")
    customer_ref: str = strawberry.field(
        description="A stable pseudonym of the customer (the same for all their orders here);"
        " never their account."
    )
    status: BookingStatus = strawberry.field(description="Where the booking is.")
    quantity: int = strawberry.field(description="Units booked.")
    unit_price: Money = strawberry.field(description="The price per unit when booked.")
    total_price: Money = strawberry.field(description="What the customer pays in all.")
    slot_start: datetime | None = strawberry.field(description="The booked time slot, if any.")
    created_at: datetime = strawberry.field(description="When it was booked.")

    @classmethod
    def of(cls, view: OrderView) -> MerchantOrder:
        row = view.booking
        return cls(
            view=view,
            id=strawberry.ID(to_global_id("Booking", row.id)),
            customer_ref=view.customer_ref,
            status=BookingStatus(row.status),
            quantity=row.quantity,
            unit_price=Money.of(row.unit_price, row.currency),
            total_price=Money.of(row.total_price, row.currency),
            slot_start=row.slot_start,
            created_at=row.created_at,
        )

    @strawberry.field(description="The deal booked.")
    async def deal(self, info: ContextInfo) -> Deal:
        row = await info.context.loaders.deal.load(self.view.booking.deal_id)
        if row is None:
            raise LookupError(f"deal {self.view.booking.deal_id} vanished")
        return Deal.from_row(row)

    @strawberry.field(description="The store chosen at booking; null: any of the deal's.")
    async def store(self, info: ContextInfo) -> Store | None:
        store_id = self.view.booking.store_id
        row = None if store_id is None else await info.context.loaders.store.load(store_id)
        return None if row is None else Store.from_row(row)

    @strawberry.field(description="The payment's state; null: not paid for yet.")
    async def payment_status(self, info: ContextInfo) -> PaymentStatus | None:
        row = await info.context.loaders.payment_of_booking.load(self.view.booking.id)
        return None if row is None else PaymentStatus(row.status)

    @strawberry.field(description="One per unit once paid, with its state.")
    async def vouchers(self, info: ContextInfo) -> list[OrderVoucher]:
        rows = await info.context.loaders.vouchers_of_booking.load(self.view.booking.id)
        now = info.context.now()
        return [
            OrderVoucher(
                row=row,
                status=VoucherStatus.EXPIRED
                if row.status == "ISSUED" and row.valid_until <= now
                else VoucherStatus(row.status),
                valid_until=row.valid_until,
                redeemed_at=row.redeemed_at,
            )
            for row in rows or []
        ]


@strawberry.type(description="An edge of a merchant's order list.")
class MerchantOrderEdge:
    cursor: str = strawberry.field(description="Pass as after to continue past this order.")
    node: MerchantOrder = strawberry.field(description="The order.")


@strawberry.type(description="A merchant's orders, newest first.")
class MerchantOrderConnection:
    edges: list[MerchantOrderEdge] = strawberry.field(description="This page.")
    page_info: PageInfo = strawberry.field(description="Whether more follow.")
    total_count: int = strawberry.field(description="Orders matching the filter in all.")


async def resolve_orders(
    info: ContextInfo,
    merchant_id: int,
    wanted: MerchantOrderFilter | None,
    first: int | None,
    after: str | None,
) -> MerchantOrderConnection:
    principal = info.context.require_viewer()
    services = info.context.require_services()
    given = wanted or MerchantOrderFilter()
    order_filter = OrderFilter(
        status=None if given.status is None else given.status.name,
        deal_id=None if given.deal_id is None else int_id(given.deal_id, "Deal", "filter.dealId"),
        store_id=None
        if given.store_id is None
        else int_id(given.store_id, "Store", "filter.storeId"),
        created_from=given.created_from,
        created_to=given.created_to,
    )
    before = decode_id_cursor(after) if after else None
    limit = page_size(20 if first is None else first)
    page = await merchant_orders(
        info.context.database,
        services.config.voucher_key,
        principal,
        merchant_id,
        order_filter,
        (before, limit),
        info.context.now(),
    )
    info.context.loaders.booking.prime_many({o.booking.id: o.booking for o in page.rows})
    edges = [
        MerchantOrderEdge(cursor=encode_id_cursor(o.booking.id), node=MerchantOrder.of(o))
        for o in page.rows
    ]
    return MerchantOrderConnection(
        edges=edges,
        page_info=page_info([edge.cursor for edge in edges], page.has_next),
        total_count=page.total,
    )
