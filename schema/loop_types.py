"""GraphQL types of the O2O loop: Booking, Payment, Refund, Voucher and the signed-in Viewer."""

from __future__ import annotations

import asyncio
import enum
from datetime import datetime
from decimal import Decimal

import strawberry

from commerce.listing import decode_offset, encode_offset, page_size
from commerce.vouchers import code_for, display, qr_svg
from geo import booking_sql, review_sql, voucher_sql
from geo.loop_rows import (
    BookingRow,
    MerchantRedemptionRow,
    PaymentRow,
    RefundRow,
    VoucherRow,
)
from geo.rows import ReviewRow
from schema.ids import to_global_id
from schema.types import ContextInfo, Deal, Money, Node, PageInfo, Review, Store


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
    canonical_code: strawberry.Private[str]
    code: str = strawberry.field(description="Typeable code in groups of four; the QR holds it.")
    valid_until: datetime
    redeemed_at: datetime | None

    @classmethod
    def from_row(cls, row: VoucherRow, key: bytes) -> Voucher:
        canonical = code_for(key, row.code_nonce)
        return cls(
            id=strawberry.ID(to_global_id("Voucher", row.id)),
            row=row,
            canonical_code=canonical,
            code=display(canonical),
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
        return await asyncio.to_thread(qr_svg, self.canonical_code)

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
        row = await info.context.loop_loaders.payment_of_booking.load(self.row.id)
        return None if row is None else Payment.from_row(row)

    @strawberry.field
    async def vouchers(self, info: ContextInfo) -> list[Voucher]:
        rows = await info.context.loop_loaders.vouchers_of_booking.load(self.row.id)
        key = info.context.require_loop().config.voucher_key
        return [Voucher.from_row(row, key) for row in rows or []]


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


def _page(first: int | None, after: str | None) -> tuple[int, int | None]:
    return page_size(20 if first is None else first), decode_offset(after) if after else None


def _page_info(cursors: list[str], has_next: bool) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


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
        limit, before = _page(first, after)
        async with info.context.database.read() as conn:
            rows = await booking_sql.bookings_of_user(conn, self.subject, before, limit + 1)
            total = await booking_sql.count_bookings_of_user(conn, self.subject)
        info.context.loop_loaders.booking.prime_many({row.id: row for row in rows})
        edges = [BookingEdge(cursor=encode_offset(r.id), node=Booking.from_row(r)) for r in rows]
        edges = edges[:limit]
        info_ = _page_info([e.cursor for e in edges], len(rows) > limit)
        return BookingConnection(edges=edges, page_info=info_, total_count=total)

    @strawberry.field(description="Newest first.")
    async def vouchers(
        self, info: ContextInfo, first: int | None = 20, after: str | None = None
    ) -> VoucherConnection:
        limit, before = _page(first, after)
        async with info.context.database.read() as conn:
            rows = await voucher_sql.vouchers_of_user(conn, self.subject, before, limit + 1)
            total = await voucher_sql.count_vouchers_of_user(conn, self.subject)
        key = info.context.require_loop().config.voucher_key
        edges = [
            VoucherEdge(cursor=encode_offset(r.id), node=Voucher.from_row(r, key))
            for r in rows[:limit]
        ]
        info_ = _page_info([e.cursor for e in edges], len(rows) > limit)
        return VoucherConnection(edges=edges, page_info=info_, total_count=total)

    @strawberry.field(
        description="Merchant staff: their merchant's redemptions, newest first (reversed "
        "ones included). Empty for customers."
    )
    async def redemptions(
        self, info: ContextInfo, first: int | None = 20, after: str | None = None
    ) -> RedemptionConnection:
        limit, before = _page(first, after)
        viewer = info.context.require_viewer()
        merchant_id = viewer.merchant_id
        if merchant_id is None or not viewer.is_staff_of(merchant_id):
            return RedemptionConnection(edges=[], page_info=_page_info([], False), total_count=0)
        async with info.context.database.read() as conn:
            rows = await voucher_sql.redemptions_of_merchant(conn, merchant_id, before, limit + 1)
            total = await voucher_sql.count_redemptions_of_merchant(conn, merchant_id)
        edges = [
            RedemptionEdge(cursor=encode_offset(r.id), node=Redemption.from_row(r))
            for r in rows[:limit]
        ]
        info_ = _page_info([e.cursor for e in edges], len(rows) > limit)
        return RedemptionConnection(edges=edges, page_info=info_, total_count=total)

    @strawberry.field(description="Reviews this user wrote, newest first.")
    async def reviews(
        self, info: ContextInfo, first: int | None = 20, after: str | None = None
    ) -> MyReviewConnection:
        limit, before = _page(first, after)
        async with info.context.database.read() as conn:
            rows: list[ReviewRow] = await review_sql.reviews_of_author(
                conn, self.subject, before, limit + 1
            )
            total = await review_sql.count_reviews_of_author(conn, self.subject)
        edges = [
            MyReviewEdge(cursor=encode_offset(r.id), node=Review.from_row(r)) for r in rows[:limit]
        ]
        info_ = _page_info([e.cursor for e in edges], len(rows) > limit)
        return MyReviewConnection(edges=edges, page_info=info_, total_count=total)
