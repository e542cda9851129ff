"""GraphQL types of orders: Booking, Payment, Refund, Voucher, Redemption and the signed-in
Viewer. They read through the request's loaders and the ``commerce`` read functions; a
voucher arrives with its code made by ``commerce`` (the voucher key never comes here)."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import strawberry

from commerce.keyset import KeysetPage
from commerce.orders.history import (
    bookings_of_user,
    redemptions_of_staff_merchant,
    vouchers_of_user,
)
from commerce.orders.vouchers import VoucherView, qr_svg
from commerce.paging import decode_id_cursor, encode_id_cursor, page_size
from commerce.reviews import reviews_of_author
from db.order_rows import (
    BookingRow,
    MerchantRedemptionRow,
    PaymentRow,
    RefundRow,
    VoucherRow,
)
from schema.ids import to_global_id
from schema.paging import PageInfo, page_info
from schema.types import ContextInfo, Deal, Money, Node, Review, Store


class HasCursor(Protocol):
    cursor: str


@strawberry.enum
class BookingStatus(enum.Enum):
    HELD = "HELD"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    COMPLETED = "COMPLETED"


@strawberry.enum
class PaymentStatus(enum.Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    REFUNDED = "REFUNDED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"


@strawberry.enum
class VoucherStatus(enum.Enum):
    ISSUED = "ISSUED"
    REDEEMED = "REDEEMED"
    EXPIRED = "EXPIRED"
    REFUNDED = "REFUNDED"


@strawberry.enum
class RefundStatus(enum.Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type(description="Money paid for a booking, as captured and refunded so far.")
class Payment(Node):
    row: strawberry.Private[PaymentRow]
    status: PaymentStatus
    provider: str
    amount: Money
    amount_authorized: Money
    amount_captured: Money
    amount_refunded: Money
    failure_message: str | None

    @classmethod
    def from_row(cls, row: PaymentRow) -> Payment:
        def money(value: Decimal) -> Money:
            return Money.of(value, row.currency)

        return cls(
            id=strawberry.ID(to_global_id("Payment", row.id)),
            row=row,
            status=PaymentStatus(row.status),
            provider=row.provider,
            amount=money(row.amount),
            amount_authorized=money(row.amount_authorized),
            amount_captured=money(row.amount_captured),
            amount_refunded=money(row.amount_refunded),
            failure_message=row.failure_message,
        )


@strawberry.type(description="Money returned for unredeemed vouchers of a cancelled booking.")
class Refund(Node):
    status: RefundStatus
    amount: Money
    created_at: datetime

    @classmethod
    def from_row(cls, row: RefundRow) -> Refund:
        return cls(
            id=strawberry.ID(to_global_id("Refund", row.id)),
            status=RefundStatus(row.status),
            amount=Money.of(row.amount, row.currency),
            created_at=row.created_at,
        )


@strawberry.type(description="One unit of a paid booking, shown and scanned in the store.")
class Voucher(Node):
    row: strawberry.Private[VoucherRow]
    qr_data: strawberry.Private[str]
    code: str = strawberry.field(description="Typeable code in groups of four; the QR holds it.")
    valid_until: datetime
    redeemed_at: datetime | None

    @classmethod
    def from_view(cls, view: VoucherView) -> Voucher:
        row = view.row
        return cls(
            id=strawberry.ID(to_global_id("Voucher", row.id)),
            row=row,
            qr_data=view.qr_data,
            code=view.code,
            valid_until=row.valid_until,
            redeemed_at=row.redeemed_at,
        )

    @strawberry.field(description="EXPIRED once validUntil has passed unredeemed.")
    def status(self, info: ContextInfo) -> VoucherStatus:
        if self.row.status == "ISSUED" and self.row.valid_until <= info.context.now():
            return VoucherStatus.EXPIRED
        return VoucherStatus(self.row.status)

    @strawberry.field(description="The code as a QR code (SVG), for the store's scanner.")
    async def qr_svg(self) -> str:
        return await asyncio.to_thread(qr_svg, self.qr_data)

    @strawberry.field
    async def redeemed_at_store(self, info: ContextInfo) -> Store | None:
        if self.row.redeemed_store_id is None:
            return None
        row = await info.context.loaders.store.load(self.row.redeemed_store_id)
        return None if row is None else Store.from_row(row)

    @strawberry.field
    async def deal(self, info: ContextInfo) -> Deal:
        row = await info.context.loaders.deal.load(self.row.deal_id)
        if row is None:
            raise LookupError(f"deal {self.row.deal_id} vanished")
        return Deal.from_row(row)


@strawberry.type(description="Units of a deal held for, then bought by, the signed-in user.")
class Booking(Node):
    row: strawberry.Private[BookingRow]
    status: BookingStatus
    quantity: int
    unit_price: Money
    total_price: Money
    slot_start: datetime | None
    created_at: datetime
    cancel_reason: str | None

    @classmethod
    def from_row(cls, row: BookingRow) -> Booking:
        return cls(
            id=strawberry.ID(to_global_id("Booking", row.id)),
            row=row,
            status=BookingStatus(row.status),
            quantity=row.quantity,
            unit_price=Money.of(row.unit_price, row.currency),
            total_price=Money.of(row.total_price, row.currency),
            slot_start=row.slot_start,
            created_at=row.created_at,
            cancel_reason=row.cancel_reason,
        )

    @strawberry.field(description="Until when the units are held unpaid; null once not HELD.")
    def hold_expires_at(self) -> datetime | None:
        return self.row.hold_expires_at if self.row.status == "HELD" else None

    @strawberry.field
    async def deal(self, info: ContextInfo) -> Deal:
        row = await info.context.loaders.deal.load(self.row.deal_id)
        if row is None:
            raise LookupError(f"deal {self.row.deal_id} vanished")
        return Deal.from_row(row)

    @strawberry.field(description="The store chosen at booking; null: any of the deal's stores.")
    async def store(self, info: ContextInfo) -> Store | None:
        if self.row.store_id is None:
            return None
        row = await info.context.loaders.store.load(self.row.store_id)
        return None if row is None else Store.from_row(row)

    @strawberry.field
    async def payment(self, info: ContextInfo) -> Payment | None:
        row = await info.context.loaders.payment_of_booking.load(self.row.id)
        return None if row is None else Payment.from_row(row)

    @strawberry.field
    async def vouchers(self, info: ContextInfo) -> list[Voucher]:
        rows = await info.context.loaders.vouchers_of_booking.load(self.row.id)
        services = info.context.require_services()
        return [Voucher.from_view(services.voucher_view(row)) for row in rows or []]


@strawberry.type
class BookingEdge:
    cursor: str
    node: Booking


@strawberry.type
class BookingConnection:
    edges: list[BookingEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class VoucherEdge:
    cursor: str
    node: Voucher


@strawberry.type
class VoucherConnection:
    edges: list[VoucherEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class MyReviewEdge:
    cursor: str
    node: Review


@strawberry.type
class MyReviewConnection:
    edges: list[MyReviewEdge]
    page_info: PageInfo
    total_count: int


def _page(first: int | None, after: str | None) -> tuple[int | None, int]:
    """The (before id, limit) of a newest-first page from its arguments."""
    return decode_id_cursor(after) if after else None, page_size(20 if first is None else first)


def _keyset_page_info(edges: Sequence[HasCursor], page: KeysetPage[Any]) -> PageInfo:
    return page_info([edge.cursor for edge in edges], page.has_next)


@strawberry.type(description="A voucher redeemed at one of the merchant's stores (audit trail).")
class Redemption:
    row: strawberry.Private[MerchantRedemptionRow]
    id: strawberry.ID
    voucher_id: strawberry.ID
    staff_id: str = strawberry.field(description="Who scanned it (the staff token's sub).")
    redeemed_at: datetime
    reversed_at: datetime | None
    reversed_by: str | None
    reversal_reason: str | None

    @classmethod
    def from_row(cls, row: MerchantRedemptionRow) -> Redemption:
        return cls(
            row=row,
            id=strawberry.ID(str(row.id)),
            voucher_id=strawberry.ID(to_global_id("Voucher", row.voucher_id)),
            staff_id=row.staff_id,
            redeemed_at=row.redeemed_at,
            reversed_at=row.reversed_at,
            reversed_by=row.reversed_by,
            reversal_reason=row.reversal_reason,
        )

    @strawberry.field
    async def store(self, info: ContextInfo) -> Store | None:
        row = await info.context.loaders.store.load(self.row.store_id)
        return None if row is None else Store.from_row(row)

    @strawberry.field
    async def deal(self, info: ContextInfo) -> Deal | None:
        row = await info.context.loaders.deal.load(self.row.deal_id)
        return None if row is None else Deal.from_row(row)


@strawberry.type
class RedemptionEdge:
    cursor: str
    node: Redemption


@strawberry.type
class RedemptionConnection:
    edges: list[RedemptionEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(description="The signed-in user: their bookings, vouchers and reviews.")
class Viewer:
    subject: str = strawberry.field(description="The token's sub claim.")
    roles: list[str]
    merchant_id: strawberry.ID | None = strawberry.field(
        description="The merchant this user works for (merchant staff)."
    )

    @strawberry.field(description="Newest first.")
    async def bookings(
        self, info: ContextInfo, first: int | None = 20, after: str | None = None
    ) -> BookingConnection:
        page = await bookings_of_user(info.context.database, self.subject, *_page(first, after))
        info.context.loaders.booking.prime_many({row.id: row for row in page.rows})
        edges = [
            BookingEdge(cursor=encode_id_cursor(r.id), node=Booking.from_row(r)) for r in page.rows
        ]
        return BookingConnection(
            edges=edges, page_info=_keyset_page_info(edges, page), total_count=page.total
        )

    @strawberry.field(description="Newest first.")
    async def vouchers(
        self, info: ContextInfo, first: int | None = 20, after: str | None = None
    ) -> VoucherConnection:
        services = info.context.require_services()
        page = await vouchers_of_user(
            info.context.database, services, self.subject, *_page(first, after)
        )
        edges = [
            VoucherEdge(cursor=encode_id_cursor(v.row.id), node=Voucher.from_view(v))
            for v in page.rows
        ]
        return VoucherConnection(
            edges=edges, page_info=_keyset_page_info(edges, page), total_count=page.total
        )

    @strawberry.field(
        description="Merchant staff: their merchant's redemptions, newest first (reversed "
        "ones included). Empty for customers."
    )
    async def redemptions(
        self, info: ContextInfo, first: int | None = 20, after: str | None = None
    ) -> RedemptionConnection:
        viewer = info.context.require_viewer()
        page = await redemptions_of_staff_merchant(
            info.context.database, viewer, *_page(first, after)
        )
        edges = [
            RedemptionEdge(cursor=encode_id_cursor(r.id), node=Redemption.from_row(r))
            for r in page.rows
        ]
        return RedemptionConnection(
            edges=edges, page_info=_keyset_page_info(edges, page), total_count=page.total
        )

    @strawberry.field(description="Reviews this user wrote, newest first.")
    async def reviews(
        self, info: ContextInfo, first: int | None = 20, after: str | None = None
    ) -> MyReviewConnection:
        page = await reviews_of_author(info.context.database, self.subject, *_page(first, after))
        edges = [
            MyReviewEdge(cursor=encode_id_cursor(r.id), node=Review.from_row(r)) for r in page.rows
        ]
        return MyReviewConnection(
            edges=edges, page_info=_keyset_page_info(edges, page), total_count=page.total
        )
