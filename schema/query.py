"""The root ``Query`` type: lookups by ID, categories and nearby discovery.

Every root field is nullable, so one field's error (search down, a bad cursor) leaves the
other fields' data in the same response (CONTRACT: "Root query fields are nullable")."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.coupons.nearby import NearbyCouponConnection, resolve_nearby_coupons
from schema.discovery.nearby import (
    NearbyDealConnection,
    NearbyMerchantConnection,
    resolve_nearby_deals,
    resolve_nearby_merchants,
)
from schema.discovery.search import (
    DealSearchConnection,
    Suggestion,
    resolve_autocomplete,
    resolve_search_deals,
)
from schema.discovery.viewport import DealMap, resolve_deals_in_view
from schema.ids import parse_int_id, to_global_id
from schema.merchants.staff import StaffRole
from schema.nodes import resolve_deal, resolve_merchant, resolve_node, resolve_store
from schema.orders.types import Viewer
from schema.types import Category, ContextInfo, Deal, Merchant, Node, Store


@strawberry.type(
    description="Reads. Discovery works without a token; `me` needs Authorization: Bearer."
)
class Query:
    @strawberry.field(
        description="Any object by its global ID. Unknown: NOT_FOUND; private objects "
        "(bookings, payments, refunds, vouchers, redemptions) of someone else: FORBIDDEN."
    )
    async def node(
        self,
        info: ContextInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="A global ID of any type.")],
    ) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(description="A merchant by its global ID (NOT_FOUND when there is none).")
    async def merchant(
        self,
        info: ContextInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="A Merchant's global ID.")],
    ) -> Merchant | None:
        return await resolve_merchant(info, parse_int_id(id, "Merchant"))

    @strawberry.field(
        description="A deal by its global ID, also when not on offer (NOT_FOUND when there is "
        "none)."
    )
    async def deal(
        self,
        info: ContextInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="A Deal's global ID.")],
    ) -> Deal | None:
        return await resolve_deal(info, parse_int_id(id, "Deal"))

    @strawberry.field(description="A store by its global ID (NOT_FOUND when there is none).")
    async def store(
        self,
        info: ContextInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="A Store's global ID.")],
    ) -> Store | None:
        return await resolve_store(info, parse_int_id(id, "Store"))

    @strawberry.field(description="All categories; names follow Accept-Language (en, zh, fi, sv).")
    async def categories(self, info: ContextInfo) -> list[Category] | None:
        return [Category.from_row(row) for row in await info.context.loaders.all_categories()]

    @strawberry.field(description="The signed-in user (null without a token).")
    def me(self, info: ContextInfo) -> Viewer | None:
        if info.context.viewer is None and info.context.auth_error is None:
            return None
        viewer = info.context.require_viewer()
        merchant = viewer.merchant_id
        return Viewer(
            subject=viewer.subject,
            roles=sorted(viewer.roles),
            merchant_id=None
            if merchant is None
            else strawberry.ID(to_global_id("Merchant", merchant)),
            staff_role=StaffRole(viewer.staff_role) if "merchant" in viewer.roles else None,
            store_id=None
            if viewer.store_id is None
            else strawberry.ID(to_global_id("Store", viewer.store_id)),
        )

    nearby_deals: NearbyDealConnection | None = strawberry.field(
        resolver=resolve_nearby_deals,
        description="Deals valid at a store within radiusMeters (max 50 000) of near.",
    )
    nearby_coupons: NearbyCouponConnection | None = strawberry.field(
        resolver=resolve_nearby_coupons,
        description="Claimable coupons valid at a store within radiusMeters (max 50 000) of"
        " near, each at its nearest store, nearest first.",
    )
    nearby_merchants: NearbyMerchantConnection | None = strawberry.field(
        resolver=resolve_nearby_merchants,
        description="Merchants with a store within radiusMeters of near; a chain appears once.",
    )
    search_deals: DealSearchConnection | None = strawberry.field(
        resolver=resolve_search_deals,
        description=(
            "Full-text search over deals, merchants and categories in en/zh/fi/sv, typo- and "
            "accent-tolerant; near + radiusMeters is a hard filter, near alone biases "
            "relevance towards it. extensions.code SEARCH_UNAVAILABLE when search is down."
        ),
    )
    autocomplete: list[Suggestion] | None = strawberry.field(
        resolver=resolve_autocomplete,
        description="Suggestions for a typed prefix (merchants, deals, categories), near first.",
    )
    deals_in_view: DealMap | None = strawberry.field(
        resolver=resolve_deals_in_view,
        description="What a map shows in bbox at zoom: clusters below zoom 14, deals from 14 on.",
    )
