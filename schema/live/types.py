"""GraphQL types of live events: ``MerchantEvent`` and its kind. The event carries ids; the
objects are read through the subscriber's loaders when the client selects them."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from commerce.live.events import LiveEvent
from schema.ids import to_global_id
from schema.orders.types import Booking, Payment, Redemption
from schema.types import ContextInfo, Deal, Review, Store


@strawberry.enum(description="What happened at a merchant (merchantActivity).")
class MerchantEventKind(enum.Enum):
    BOOKED = strawberry.enum_value("BOOKED", description="A customer booked (held) a deal.")
    PAID = strawberry.enum_value("PAID", description="A booking was paid; vouchers issued.")
    REDEEMED = strawberry.enum_value("REDEEMED", description="A voucher was redeemed in store.")
    REVIEWED = strawberry.enum_value("REVIEWED", description="A customer posted a review.")
    CANCELLED = strawberry.enum_value("CANCELLED", description="A booking was cancelled.")
    REFUNDED = strawberry.enum_value(
        "REFUNDED", description="A payment was refunded, in full or in part."
    )


def _gid(type_name: str, ident: int | None) -> strawberry.ID | None:
    return None if ident is None else strawberry.ID(to_global_id(type_name, ident))


@strawberry.type(
    description="One committed change at a merchant: its kind, the ids it concerns, and the "
    "objects themselves (read when the event is delivered, so they show the state after it)."
)
class MerchantEvent:
    event: strawberry.Private[LiveEvent]
    kind: MerchantEventKind = strawberry.field(description="What happened.")
    at: datetime = strawberry.field(
        description="When this gateway received the committed change (right after the commit)."
    )
    merchant_id: strawberry.ID = strawberry.field(description="The merchant it happened at.")
    booking_id: strawberry.ID | None = strawberry.field(
        description="The booking concerned (BOOKED, PAID, REDEEMED, CANCELLED, REFUNDED)."
    )
    deal_id: strawberry.ID | None = strawberry.field(description="The deal concerned.")
    store_id: strawberry.ID | None = strawberry.field(
        description="The store concerned: where a voucher was redeemed, or the store chosen "
        "at booking (null: any of the deal's stores)."
    )
    payment_id: strawberry.ID | None = strawberry.field(
        description="The payment concerned (PAID, REFUNDED)."
    )
    voucher_id: strawberry.ID | None = strawberry.field(
        description="The voucher redeemed (REDEEMED)."
    )
    redemption_id: strawberry.ID | None = strawberry.field(
        description="The redemption record (REDEEMED); the same id as Redemption.id."
    )
    review_id: strawberry.ID | None = strawberry.field(description="The review (REVIEWED).")

    @classmethod
    def of(cls, event: LiveEvent, kind: str) -> MerchantEvent:
        own = event.id
        return cls(
            event=event,
            kind=MerchantEventKind(kind),
            at=event.received_at,
            merchant_id=strawberry.ID(to_global_id("Merchant", event.merchant or 0)),
            booking_id=_gid("Booking", event.booking),
            deal_id=_gid("Deal", event.deal),
            store_id=_gid("Store", event.store),
            payment_id=_gid("Payment", own if event.source == "payment" else None),
            voucher_id=_gid("Voucher", event.voucher),
            redemption_id=_gid("Redemption", own if event.source == "redemption" else None),
            review_id=_gid("Review", own if event.source == "review" else None),
        )

    @strawberry.field(description="The booking as it is now (vouchers are its owner's only).")
    async def booking(self, info: ContextInfo) -> Booking | None:
        if self.event.booking is None:
            return None
        row = await info.context.loaders.booking.load(self.event.booking)
        return None if row is None else Booking.from_row(row)

    @strawberry.field(description="The payment as it is now (PAID, REFUNDED).")
    async def payment(self, info: ContextInfo) -> Payment | None:
        if self.event.source != "payment":
            return None
        row = await info.context.loaders.payment.load(self.event.id)
        return None if row is None else Payment.from_row(row)

    @strawberry.field(description="The redemption record (REDEEMED).")
    async def redemption(self, info: ContextInfo) -> Redemption | None:
        if self.event.source != "redemption":
            return None
        row = await info.context.loaders.redemption.load(self.event.id)
        return None if row is None else Redemption.from_row(row)

    @strawberry.field(description="The review (REVIEWED).")
    async def review(self, info: ContextInfo) -> Review | None:
        if self.event.source != "review":
            return None
        row = await info.context.loaders.review.load(self.event.id)
        return None if row is None else Review.from_row(row)

    @strawberry.field(description="The deal concerned, as it is now.")
    async def deal(self, info: ContextInfo) -> Deal | None:
        if self.event.deal is None:
            return None
        row = await info.context.loaders.deal.load(self.event.deal)
        return None if row is None else Deal.from_row(row)

    @strawberry.field(description="The store concerned (see storeId).")
    async def store(self, info: ContextInfo) -> Store | None:
        if self.event.store is None:
            return None
        row = await info.context.loaders.store.load(self.event.store)
        return None if row is None else Store.from_row(row)
