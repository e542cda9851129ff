"""GraphQL types of orders: Booking, Payment, Refund, Voucher, Redemption and the signed-in
Viewer. They read through the request's loaders and the ``commerce`` read functions; a
voucher arrives with its code made by ``commerce`` (the voucher key never comes here)."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Protocol

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
from schema.docs import describe_values
from schema.ids import to_global_id
from schema.merchants.staff import StaffRole
from schema.paging import (
    CURSOR_DOC,
    PAGE_INFO_DOC,
    TOTAL_COUNT_DOC,
    After,
    First,
    PageInfo,
    page_info,
)
from schema.types import ContextInfo, Deal, Money, Node, Review, Store

if TYPE_CHECKING:
    from schema.coupons.types import ClaimedCouponConnection
    from schema.members.types import Membership


class HasCursor(Protocol):
    cursor: str


@describe_values(
    HELD="Units are held for payment until holdExpiresAt; pay to confirm (a declined attempt "
    "leaves it HELD for a retry).",
    CONFIRMED="Paid, and at least one voucher can still be used.",
    CANCELLED="Ended by the customer (or never paid): a released hold, or the unused vouchers "
    "refunded, partly redeemed bookings included (payment PARTIALLY_REFUNDED); cancelReason "
    "says why.",
    EXPIRED="The hold ran out unpaid, or the unused vouchers expired and were refunded "
    "automatically (cancelReason says so).",
    COMPLETED="Every voucher was redeemed.",
)
@strawberry.enum(description="Where a booking is; once paid, its status follows its vouchers.")
class BookingStatus(enum.Enum):
    HELD = "HELD"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    COMPLETED = "COMPLETED"


@describe_values(
    PENDING="Sent to the provider, no final answer yet (or the customer must authenticate).",
    SUCCEEDED="Captured in full; nothing refunded.",
    FAILED="Declined or not completed in time; nothing was charged.",
    REFUNDED="Captured, then refunded in full.",
    PARTIALLY_REFUNDED="Captured, then part of it refunded (amountRefunded says how much).",
)
@strawberry.enum(description="Where a payment is with the payment provider.")
class PaymentStatus(enum.Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    REFUNDED = "REFUNDED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"


@describe_values(
    ISSUED="Valid: show it in the store before validUntil.",
    REDEEMED="Used: staff redeemed it (see redeemedAt, redeemedAtStore).",
    EXPIRED="validUntil passed while it was ISSUED; it can no longer be redeemed.",
    REFUNDED="Paid back: cancelled by the customer, or expired unredeemed and refunded "
    "automatically; it cannot be redeemed.",
)
@strawberry.enum(description="Whether a voucher can still be redeemed.")
class VoucherStatus(enum.Enum):
    ISSUED = "ISSUED"
    REDEEMED = "REDEEMED"
    EXPIRED = "EXPIRED"
    REFUNDED = "REFUNDED"


@describe_values(
    PENDING="Asked of the provider, no answer yet; it is asked again until it answers.",
    SUCCEEDED="The money is on its way back to the customer.",
    FAILED="The provider refused; the vouchers are the customer's again.",
)
@strawberry.enum(description="Where a refund is with the payment provider.")
class RefundStatus(enum.Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type(description="Money paid for a booking, as captured and refunded so far.")
class Payment(Node):
    row: strawberry.Private[PaymentRow]
    status: PaymentStatus = strawberry.field(description="Where the payment is.")
    provider: str = strawberry.field(description='Payment provider: "sandbox" or "stripe".')
    amount: Money = strawberry.field(description="What is charged: the booking's totalPrice.")
    amount_authorized: Money = strawberry.field(
        description="Authorised by the provider so far (0 until it succeeds)."
    )
    amount_captured: Money = strawberry.field(
        description="Captured so far (0 until it succeeds, then the whole amount)."
    )
    amount_refunded: Money = strawberry.field(
        description="Refunded so far (never more than captured)."
    )
    failure_message: str | None = strawberry.field(
        description="Why it FAILED, from the provider; null otherwise."
    )

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
    status: RefundStatus = strawberry.field(description="Where the refund is.")
    amount: Money = strawberry.field(description="The unit price of each voucher refunded, summed.")
    created_at: datetime = strawberry.field(description="When the refund was asked for.")

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
    code: str = strawberry.field(
        description="Typeable code in groups of four (e.g. ABCD-EFGH-JKLM-NP); the QR code "
        "holds it without dashes. Show it only to the voucher's owner."
    )
    valid_until: datetime = strawberry.field(
        description="Redeemable until this instant: the deal's validUntil."
    )
    redeemed_at: datetime | None = strawberry.field(
        description="When staff redeemed it; null unless REDEEMED."
    )

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

    @strawberry.field(description="Its status; EXPIRED once validUntil has passed unredeemed.")
    def status(self, info: ContextInfo) -> VoucherStatus:
        if self.row.status == "ISSUED" and self.row.valid_until <= info.context.now():
            return VoucherStatus.EXPIRED
        return VoucherStatus(self.row.status)

    @strawberry.field(description="The code as a QR code (SVG), for the store's scanner.")
    async def qr_svg(self) -> str:
        return await asyncio.to_thread(qr_svg, self.qr_data)

    @strawberry.field(description="The store where it was redeemed; null unless REDEEMED.")
    async def redeemed_at_store(self, info: ContextInfo) -> Store | None:
        if self.row.redeemed_store_id is None:
            return None
        row = await info.context.loaders.store.load(self.row.redeemed_store_id)
        return None if row is None else Store.from_row(row)

    @strawberry.field(description="The deal this voucher was bought from.")
    async def deal(self, info: ContextInfo) -> Deal:
        row = await info.context.loaders.deal.load(self.row.deal_id)
        if row is None:
            raise LookupError(f"deal {self.row.deal_id} vanished")
        return Deal.from_row(row)


@strawberry.type(description="Units of a deal held for, then bought by, the signed-in user.")
class Booking(Node):
    row: strawberry.Private[BookingRow]
    status: BookingStatus = strawberry.field(description="Where the booking is in its life.")
    quantity: int = strawberry.field(description="Units booked; one voucher each once paid.")
    unit_price: Money = strawberry.field(description="The deal's price when booked.")
    total_price: Money = strawberry.field(
        description="unitPrice x quantity: what payBooking charges."
    )
    slot_start: datetime | None = strawberry.field(
        description="Start of the booked time slot; null for deals not sold by slot."
    )
    created_at: datetime = strawberry.field(description="When bookDeal created it.")
    cancel_reason: str | None = strawberry.field(
        description='Why it ended: the caller\'s reason, "payment failed" or "hold expired"; '
        "null while HELD or CONFIRMED."
    )

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

    @strawberry.field(description="The deal booked.")
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

    @strawberry.field(description="The payment of this booking; null until payBooking.")
    async def payment(self, info: ContextInfo) -> Payment | None:
        row = await info.context.loaders.payment_of_booking.load(self.row.id)
        return None if row is None else Payment.from_row(row)

    @strawberry.field(
        description="The vouchers, with their codes: for the booking's owner only (staff "
        "seeing a booking through merchantActivity get FORBIDDEN here)."
    )
    async def vouchers(self, info: ContextInfo) -> list[Voucher]:
        info.context.require_viewer().require_owner(self.row.user_id, "booking's vouchers")
        rows = await info.context.loaders.vouchers_of_booking.load(self.row.id)
        services = info.context.require_services()
        return [Voucher.from_view(services.voucher_view(row)) for row in rows or []]


@strawberry.type(description="One booking in a page of a list.")
class BookingEdge:
    cursor: str = strawberry.field(description=CURSOR_DOC)
    node: Booking = strawberry.field(description="The booking.")


@strawberry.type(description="A page of a newest-first list of bookings.")
class BookingConnection:
    edges: list[BookingEdge] = strawberry.field(description="This page, newest first.")
    page_info: PageInfo = strawberry.field(description=PAGE_INFO_DOC)
    total_count: int = strawberry.field(description=TOTAL_COUNT_DOC)


@strawberry.type(description="One voucher in a page of a list.")
class VoucherEdge:
    cursor: str = strawberry.field(description=CURSOR_DOC)
    node: Voucher = strawberry.field(description="The voucher.")


@strawberry.type(description="A page of a newest-first list of vouchers.")
class VoucherConnection:
    edges: list[VoucherEdge] = strawberry.field(description="This page, newest first.")
    page_info: PageInfo = strawberry.field(description=PAGE_INFO_DOC)
    total_count: int = strawberry.field(description=TOTAL_COUNT_DOC)


@strawberry.type(description="One review in a page of a list.")
class MyReviewEdge:
    cursor: str = strawberry.field(description=CURSOR_DOC)
    node: Review = strawberry.field(description="The review.")


@strawberry.type(description="A page of a newest-first list of reviews.")
class MyReviewConnection:
    edges: list[MyReviewEdge] = strawberry.field(description="This page, newest first.")
    page_info: PageInfo = strawberry.field(description=PAGE_INFO_DOC)
    total_count: int = strawberry.field(description=TOTAL_COUNT_DOC)


def _page(first: int | None, after: str | None) -> tuple[int | None, int]:
    """The (before id, limit) of a newest-first page from its arguments."""
    return decode_id_cursor(after) if after else None, page_size(20 if first is None else first)


def _keyset_page_info(edges: Sequence[HasCursor], page: KeysetPage[Any]) -> PageInfo:
    return page_info([edge.cursor for edge in edges], page.has_next)


@strawberry.type(description="A voucher redeemed at one of the merchant's stores (audit trail).")
class Redemption(Node):
    row: strawberry.Private[MerchantRedemptionRow]
    voucher_id: strawberry.ID = strawberry.field(
        description="Global ID of the Voucher redeemed (for reverseRedemption)."
    )
    staff_id: str = strawberry.field(description="Who scanned it (the staff token's sub).")
    redeemed_at: datetime = strawberry.field(description="When it was redeemed.")
    reversed_at: datetime | None = strawberry.field(
        description="When reverseRedemption undid it; null while it stands."
    )
    reversed_by: str | None = strawberry.field(
        description="Who undid it (the staff token's sub); null while it stands."
    )
    reversal_reason: str | None = strawberry.field(
        description="The reason given to reverseRedemption; null while it stands."
    )

    @classmethod
    def from_row(cls, row: MerchantRedemptionRow) -> Redemption:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("Redemption", row.id)),
            voucher_id=strawberry.ID(to_global_id("Voucher", row.voucher_id)),
            staff_id=row.staff_id,
            redeemed_at=row.redeemed_at,
            reversed_at=row.reversed_at,
            reversed_by=row.reversed_by,
            reversal_reason=row.reversal_reason,
        )

    @strawberry.field(description="The store where it was redeemed.")
    async def store(self, info: ContextInfo) -> Store | None:
        row = await info.context.loaders.store.load(self.row.store_id)
        return None if row is None else Store.from_row(row)

    @strawberry.field(description="The deal of the voucher redeemed.")
    async def deal(self, info: ContextInfo) -> Deal | None:
        row = await info.context.loaders.deal.load(self.row.deal_id)
        return None if row is None else Deal.from_row(row)


@strawberry.type(description="One redemption in a page of a list.")
class RedemptionEdge:
    cursor: str = strawberry.field(description=CURSOR_DOC)
    node: Redemption = strawberry.field(description="The redemption.")


@strawberry.type(description="A page of a newest-first list of redemptions.")
class RedemptionConnection:
    edges: list[RedemptionEdge] = strawberry.field(description="This page, newest first.")
    page_info: PageInfo = strawberry.field(description=PAGE_INFO_DOC)
    total_count: int = strawberry.field(description=TOTAL_COUNT_DOC)


@strawberry.type(description="The signed-in user: their bookings, vouchers and reviews.")
class Viewer:
    subject: str = strawberry.field(description="The token's sub claim.")
    roles: list[str] = strawberry.field(
        description="The token's roles, sorted: customer, merchant and/or admin."
    )
    merchant_id: strawberry.ID | None = strawberry.field(
        description="Global ID of the Merchant this user works for; null unless merchant staff."
    )
    staff_role: StaffRole | None = strawberry.field(
        default=None, description="The staff member's role (merchant staff; default CASHIER)."
    )
    store_id: strawberry.ID | None = strawberry.field(
        default=None, description="The one store a cashier works at, when the token names it."
    )

    @strawberry.field(description="The bookings this user made, newest first.")
    async def bookings(
        self, info: ContextInfo, first: First = 20, after: After = None
    ) -> BookingConnection:
        page = await bookings_of_user(info.context.database, self.subject, *_page(first, after))
        info.context.loaders.booking.prime_many({row.id: row for row in page.rows})
        edges = [
            BookingEdge(cursor=encode_id_cursor(r.id), node=Booking.from_row(r)) for r in page.rows
        ]
        return BookingConnection(
            edges=edges, page_info=_keyset_page_info(edges, page), total_count=page.total
        )

    @strawberry.field(
        description="The vouchers of this user's paid bookings, newest first, any status."
    )
    async def vouchers(
        self, info: ContextInfo, first: First = 20, after: After = None
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
        self, info: ContextInfo, first: First = 20, after: After = None
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

    @strawberry.field(
        description="The user's memberships, most recently joined first (at most 200)."
    )
    async def memberships(
        self, info: ContextInfo
    ) -> list[Annotated[Membership, strawberry.lazy("schema.members.types")]]:
        from commerce.members.memberships import my_memberships
        from schema.members.types import Membership  # imports schema.types, as this does

        rows = await my_memberships(info.context.database, info.context.require_viewer())
        return [Membership.from_row(row) for row in rows]

    @strawberry.field(
        description="The coupons in this user's wallet (claimed or issued), newest first, any"
        " status."
    )
    async def coupons(
        self, info: ContextInfo, first: First = 20, after: After = None
    ) -> Annotated[ClaimedCouponConnection, strawberry.lazy("schema.coupons.types")]:
        from schema.coupons.lists import my_coupons  # imports this module's siblings

        return await my_coupons(info, self.subject, first, after)

    @strawberry.field(description="Reviews this user wrote, newest first.")
    async def reviews(
        self, info: ContextInfo, first: First = 20, after: After = None
    ) -> MyReviewConnection:
        page = await reviews_of_author(info.context.database, self.subject, *_page(first, after))
        edges = [
            MyReviewEdge(cursor=encode_id_cursor(r.id), node=Review.from_row(r)) for r in page.rows
        ]
        return MyReviewConnection(
            edges=edges, page_info=_keyset_page_info(edges, page), total_count=page.total
        )
