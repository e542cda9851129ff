"""``Coupon``, ``ClaimedCoupon`` and ``CouponRedemption`` with their enums and pages."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from commerce.coupons.campaigns import value_text
from commerce.coupons.codes import ClaimedCouponView
from db.coupon_rows import CouponRedemptionRow, CouponRow
from schema.docs import describe_values
from schema.ids import to_global_id
from schema.paging import CURSOR_DOC, PAGE_INFO_DOC, PageInfo
from schema.types import ContextInfo, MaybeAwaitable, Merchant, Money, Node, Store, merchant_of


@describe_values(
    PERCENT_OFF="value percent of the bill, rounded half up to the currency's minor unit.",
    AMOUNT_OFF="value in the coupon's currency, at most the bill.",
    FREE_ITEM="value names an item handed over; nothing off the bill.",
)
@strawberry.enum(description="What a coupon takes off: a share of the bill, an amount, or an item.")
class CouponKind(enum.Enum):
    PERCENT_OFF = "PERCENT_OFF"
    AMOUNT_OFF = "AMOUNT_OFF"
    FREE_ITEM = "FREE_ITEM"


@describe_values(
    EVERYONE="Every signed-in customer.",
    MEMBERS="Members of the merchant's membership only.",
    SEGMENT="Members matching the merchant's saved segment (segmentId).",
)
@strawberry.enum(description="Who may claim a coupon.")
class CouponAudience(enum.Enum):
    EVERYONE = "EVERYONE"
    MEMBERS = "MEMBERS"
    SEGMENT = "SEGMENT"


@describe_values(
    DRAFT="Being prepared; customers cannot see it.",
    PUBLISHED="Claimable within validFrom to validUntil while units last.",
    PAUSED="No new claims for now; can return.",
    ENDED="No new claims ever (claimed coupons stay usable until validUntil).",
)
@strawberry.enum(description="Where a coupon campaign is in its lifecycle (as deals).")
class CouponStatus(enum.Enum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    PAUSED = "PAUSED"
    ENDED = "ENDED"


@describe_values(
    ISSUED="In the wallet, usable.",
    REDEEMED="Used on a bill at a store.",
    EXPIRED="validUntil passed unused.",
)
@strawberry.enum(description="Where a claimed coupon stands.")
class ClaimedCouponStatus(enum.Enum):
    ISSUED = "ISSUED"
    REDEEMED = "REDEEMED"
    EXPIRED = "EXPIRED"


@strawberry.type(description="A merchant's coupon campaign, valid at some of its stores.")
class Coupon(Node):
    row: strawberry.Private[CouponRow]
    title: str = strawberry.field(description="Shown to customers (1 to 200 characters).")
    kind: CouponKind = strawberry.field(description="What the coupon takes off.")
    value: str = strawberry.field(
        description="PERCENT_OFF: the percentage (15); AMOUNT_OFF: the amount (5.00, in "
        "currency); FREE_ITEM: the item."
    )
    currency: str | None = strawberry.field(
        description="Currency of an AMOUNT_OFF value and of minBill; null: any bill currency."
    )
    min_bill: Money | None = strawberry.field(
        description="The smallest bill the coupon can be used on; null: any bill."
    )
    valid_from: datetime = strawberry.field(description="Claimable and usable from then.")
    valid_until: datetime = strawberry.field(
        description="Claimable and usable until then (exclusive); claimed coupons expire then."
    )
    total_quantity: int | None = strawberry.field(
        description="Coupons to be claimed in all; null: not limited."
    )
    remaining_quantity: int | None = strawberry.field(
        description="Coupons still to be claimed; null: not limited."
    )
    per_user_limit: int = strawberry.field(description="Claims one customer may make (1 to 100).")
    audience: CouponAudience = strawberry.field(description="Who may claim it.")
    segment_id: strawberry.ID | None = strawberry.field(
        description="The Segment of a SEGMENT audience; null otherwise."
    )
    platform_funded: bool = strawberry.field(
        description="The platform pays the discount, not the merchant."
    )
    status: CouponStatus = strawberry.field(description="DRAFT, PUBLISHED, PAUSED or ENDED.")
    version: int = strawberry.field(
        description="Version of the coupon; every merchant write takes it as expectedVersion."
    )

    @classmethod
    def from_row(cls, row: CouponRow) -> Coupon:
        return cls(
            id=strawberry.ID(to_global_id("Coupon", row.id)),
            row=row,
            title=row.title,
            kind=CouponKind(row.kind),
            value=value_text(row),
            currency=row.currency,
            min_bill=None
            if row.min_bill is None or row.currency is None
            else Money.of(row.min_bill, row.currency),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            total_quantity=row.total_quantity,
            remaining_quantity=row.remaining_quantity,
            per_user_limit=row.per_user_limit,
            audience=CouponAudience(row.audience),
            segment_id=None
            if row.segment_id is None
            else strawberry.ID(to_global_id("Segment", row.segment_id)),
            platform_funded=row.platform_funded,
            status=CouponStatus(row.status),
            version=row.version,
        )

    @strawberry.field(graphql_type=Merchant, description="The merchant giving the coupon.")
    def merchant(self, info: ContextInfo) -> MaybeAwaitable[Merchant]:
        return merchant_of(info, self.row.merchant_id)

    @strawberry.field(description="The stores where the coupon can be used.")
    async def stores(self, info: ContextInfo) -> list[Store]:
        rows = await info.context.loaders.stores_of_coupon.load(self.row.id)
        return [Store.from_row(row) for row in rows or []]


@strawberry.type(description="A coupon in a customer's wallet, with its own code.")
class ClaimedCoupon(Node):
    view: strawberry.Private[ClaimedCouponView]
    code: str = strawberry.field(
        description="Show it at the till: 14 characters in groups of four (as vouchers)."
    )
    valid_until: datetime = strawberry.field(description="Usable until then (exclusive).")
    claimed_at: datetime = strawberry.field(description="When it came into the wallet.")

    @classmethod
    def from_view(cls, view: ClaimedCouponView) -> ClaimedCoupon:
        row = view.row
        return cls(
            id=strawberry.ID(to_global_id("ClaimedCoupon", row.id)),
            view=view,
            code=view.code,
            valid_until=row.valid_until,
            claimed_at=row.claimed_at,
        )

    @strawberry.field(description="The code as a QR code (SVG text), for scanning at the till.")
    def qr_svg(self) -> str:
        return self.view.qr_svg()

    @strawberry.field(description="ISSUED, REDEEMED or EXPIRED (ISSUED past validUntil shows so).")
    def status(self, info: ContextInfo) -> ClaimedCouponStatus:
        row = self.view.row
        if row.status == "ISSUED" and row.valid_until <= info.context.now():
            return ClaimedCouponStatus.EXPIRED
        return ClaimedCouponStatus(row.status)

    @strawberry.field(description="The coupon campaign.")
    async def coupon(self, info: ContextInfo) -> Coupon:
        row = await info.context.loaders.coupon.load(self.view.row.coupon_id)
        assert row is not None  # coupons are never deleted while claimed
        return Coupon.from_row(row)


@strawberry.type(description="A coupon used on a bill at a store.")
class CouponRedemption:
    row: strawberry.Private[CouponRedemptionRow]
    id: strawberry.ID = strawberry.field(description="Opaque ID of this use (for support).")
    bill_amount: Money = strawberry.field(description="The bill before the discount.")
    discount: Money = strawberry.field(description="What the coupon took off.")
    payable: Money = strawberry.field(description="What the customer pays: bill - discount.")
    staff_id: str = strawberry.field(description="Who scanned it (the staff token's sub).")
    redeemed_at: datetime = strawberry.field(description="When it was used.")
    reversed_at: datetime | None = strawberry.field(
        description="When it was undone (reverseCouponRedemption); null while it stands."
    )

    @classmethod
    def from_row(cls, row: CouponRedemptionRow) -> CouponRedemption:
        return cls(
            id=strawberry.ID(to_global_id("CouponRedemption", row.id)),
            row=row,
            bill_amount=Money.of(row.bill_amount, row.currency),
            discount=Money.of(row.discount, row.currency),
            payable=Money.of(row.payable, row.currency),
            staff_id=row.staff_id,
            redeemed_at=row.redeemed_at,
            reversed_at=row.reversed_at,
        )

    @strawberry.field(description="The store where it was used.")
    async def store(self, info: ContextInfo) -> Store:
        row = await info.context.loaders.store.load(self.row.store_id)
        assert row is not None
        return Store.from_row(row)


@strawberry.type(description="A coupon in a list.")
class CouponEdge:
    cursor: str = strawberry.field(description=CURSOR_DOC)
    node: Coupon = strawberry.field(description="The coupon.")


@strawberry.type(description="A page of a merchant's coupons, by id.")
class CouponConnection:
    edges: list[CouponEdge] = strawberry.field(description="This page, by id.")
    page_info: PageInfo = strawberry.field(description=PAGE_INFO_DOC)


@strawberry.type(description="A coupon in the wallet.")
class ClaimedCouponEdge:
    cursor: str = strawberry.field(description=CURSOR_DOC)
    node: ClaimedCoupon = strawberry.field(description="The claimed coupon.")


@strawberry.type(description="A page of the wallet, newest first.")
class ClaimedCouponConnection:
    edges: list[ClaimedCouponEdge] = strawberry.field(description="This page, newest first.")
    page_info: PageInfo = strawberry.field(description=PAGE_INFO_DOC)
    total_count: int = strawberry.field(description="Coupons in the wallet, any status.")
