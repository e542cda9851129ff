"""The root ``Subscription`` type (graphql-transport-ws over ``WS /graphql``).

Each subscription checks its permission when it starts (the token came with
``connection_init``), joins this process's event hub on its topics, and for every event loads
the objects afresh through new loaders: the payload carries ids, never data. Two streams are
states (``bookingStatus``, ``dealStock``: the current state first, then every change, bursts
coalesced) and three are event feeds (``redemptions``, ``merchantActivity``,
``walletUpdates``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from commerce.coupons.wallet import wallet_entry
from commerce.errors import NotFoundError
from commerce.identity.roles import require
from commerce.live.events import LiveEvent, merchant_kind
from commerce.live.hub import Subscription as Queue
from schema.caller import caller_and_services
from schema.coupons.types import ClaimedCoupon
from schema.ids import parse_int_id
from schema.live.types import MerchantEvent
from schema.nodes import resolve_deal
from schema.orders.nodes import resolve_booking
from schema.orders.types import Booking, Redemption
from schema.types import ContextInfo, Deal


@strawberry.type(description="Live updates over WebSocket (graphql-transport-ws, text frames).")
class Subscription:
    @strawberry.subscription(
        description="Vouchers redeemed at a store, as they are redeemed (the cashier screen); "
        "a reversal sends the redemption again with reversedAt set. For staff of the store's "
        "merchant (a cashier bound to a store: that store only)."
    )
    async def redemptions(
        self,
        info: ContextInfo,
        store_id: Annotated[strawberry.ID, strawberry.argument(description="The store to watch.")],
    ) -> AsyncGenerator[Redemption, None]:
        ident = parse_int_id(store_id, "Store", "storeId")
        context = info.context
        viewer = context.require_viewer()
        store = await context.loaders.store.load(ident)
        if store is None:
            raise NotFoundError("no Store with this ID")
        require(viewer, "redeem", store.merchant_id, ident)
        async with context.require_live().join([("store", ident)]) as queue:
            while True:
                event = await _next_event(queue)
                if event.source != "redemption":
                    continue
                context.refresh_loaders()
                row = await context.loaders.redemption.load(event.id)
                if row is not None:
                    yield Redemption.from_row(row)

    @strawberry.subscription(
        description="Bookings, payments, redemptions, reviews, cancellations and refunds at a "
        "merchant as they happen. For its staff (not for a cashier bound to one store)."
    )
    async def merchant_activity(
        self,
        info: ContextInfo,
        merchant_id: Annotated[
            strawberry.ID, strawberry.argument(description="The merchant to watch.")
        ],
    ) -> AsyncGenerator[MerchantEvent, None]:
        ident = parse_int_id(merchant_id, "Merchant", "merchantId")
        context = info.context
        require(context.require_viewer(), "view_orders", ident)
        async with context.require_live().join([("merchant", ident)]) as queue:
            while True:
                event = await _next_event(queue)
                kind = merchant_kind(event)
                if kind is not None:
                    context.refresh_loaders()
                    yield MerchantEvent.of(event, kind)

    @strawberry.subscription(
        description="A booking as it is now, then again at every change: held, confirmed "
        "with vouchers, redeemed, cancelled, expired or refunded. For its owner."
    )
    async def booking_status(
        self,
        info: ContextInfo,
        booking_id: Annotated[
            strawberry.ID, strawberry.argument(description="The booking to follow.")
        ],
    ) -> AsyncGenerator[Booking, None]:
        ident = parse_int_id(booking_id, "Booking", "bookingId")
        context = info.context
        # join first, then read: a change between the read and the join cannot be missed
        async with context.require_live().join([("booking", ident)]) as queue:
            yield await resolve_booking(info, ident)
            while True:
                await queue.get()
                queue.drain()  # one transaction notifies several times: one message
                context.refresh_loaders()
                yield await resolve_booking(info, ident)

    @strawberry.subscription(
        description="A deal's remaining stock: the deal now, then again when its stock "
        "changes, at most one message per second (changes in between are coalesced). "
        "Public."
    )
    async def deal_stock(
        self,
        info: ContextInfo,
        deal_id: Annotated[strawberry.ID, strawberry.argument(description="The deal to watch.")],
    ) -> AsyncGenerator[Deal, None]:
        ident = parse_int_id(deal_id, "Deal", "dealId")
        context = info.context
        hub = context.require_live()
        interval = hub.config.deal_stock_interval_s
        async with hub.join([("deal", ident)]) as queue:
            deal = await resolve_deal(info, ident)
            yield deal
            shown, sent_at = deal.remaining_quantity, time.monotonic()
            while True:
                await queue.get()
                await asyncio.sleep(max(0.0, sent_at + interval - time.monotonic()))
                queue.drain()
                context.refresh_loaders()
                deal = await resolve_deal(info, ident)
                if deal.remaining_quantity != shown:
                    yield deal
                    shown, sent_at = deal.remaining_quantity, time.monotonic()

    @strawberry.subscription(
        description="Coupons as they enter the signed-in customer's wallet: claimed by them or"
        " issued to them by a merchant (issueCoupon), one message per new entry, sent when it"
        " is committed."
    )
    async def wallet_updates(self, info: ContextInfo) -> AsyncGenerator[ClaimedCoupon, None]:
        principal, services = caller_and_services(info)
        subject = principal.subject
        database = info.context.database
        async with info.context.require_live().join([("customer", subject)]) as queue:
            while True:
                event = await _next_event(queue)
                if event.source != "wallet" or event.customer != subject:
                    continue
                view = await wallet_entry(database, services, subject, event.id)
                if view is not None:
                    context = info.context
                    context.refresh_loaders()
                    yield ClaimedCoupon.from_view(view)


async def _next_event(queue: Queue) -> LiveEvent:
    """The next event of ``queue``, skipping resync notices (event feeds have no state)."""
    while True:
        item = await queue.get()
        if isinstance(item, LiveEvent):
            return item
