"""The root ``Query`` type: lookups by ID, categories and nearby discovery."""

from __future__ import annotations

from typing import TypeVar

import strawberry

from commerce.errors import NotFoundError
from geo import lookup
from schema.ids import parse_global_id, parse_int_id, to_global_id
from schema.loop_nodes import LOOP_NODES
from schema.loop_types import Viewer
from schema.nearby import (
    NearbyDealConnection,
    NearbyMerchantConnection,
    nearby_deals,
    nearby_merchants,
)
from schema.search import (
    DealSearchConnection,
    Suggestion,
    autocomplete_resolver,
    search_deals_resolver,
)
from schema.types import Category, ContextInfo, Deal, Merchant, Node, Review, Store
from schema.viewport import DealMap, deals_in_view_field

T = TypeVar("T")


def _found(row: T | None, type_name: str) -> T:
    if row is None:
        raise NotFoundError(f"no {type_name} with this ID")
    return row


async def _merchant(info: ContextInfo, ident: int) -> Merchant:
    return Merchant.from_row(_found(await info.context.loaders.merchant.load(ident), "Merchant"))


async def _deal(info: ContextInfo, ident: int) -> Deal:
    return Deal.from_row(_found(await info.context.loaders.deal.load(ident), "Deal"))


async def _store(info: ContextInfo, ident: int) -> Store:
    return Store.from_row(_found(await info.context.loaders.store.load(ident), "Store"))


async def _review(info: ContextInfo, ident: int) -> Review:
    return Review.from_row(_found(await info.context.loaders.review.load(ident), "Review"))


async def _category(info: ContextInfo, slug: str) -> Category:
    return Category.from_row(_found(await info.context.loaders.category.load(slug), "Category"))


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global ID.")
    async def node(self, info: ContextInfo, id: strawberry.ID) -> Node | None:
        type_name, raw = parse_global_id(id)
        if type_name == "Category":
            return await _category(info, raw)
        ident = parse_int_id(id, type_name)
        if type_name in LOOP_NODES:
            return await LOOP_NODES[type_name](info, ident)
        resolvers = {"Merchant": _merchant, "Deal": _deal, "Store": _store, "Review": _review}
        return await resolvers[type_name](info, ident)

    @strawberry.field
    async def merchant(self, info: ContextInfo, id: strawberry.ID) -> Merchant | None:
        return await _merchant(info, parse_int_id(id, "Merchant"))

    @strawberry.field
    async def deal(self, info: ContextInfo, id: strawberry.ID) -> Deal | None:
        return await _deal(info, parse_int_id(id, "Deal"))

    @strawberry.field
    async def store(self, info: ContextInfo, id: strawberry.ID) -> Store | None:
        return await _store(info, parse_int_id(id, "Store"))

    @strawberry.field(description="All categories; names follow Accept-Language (en, zh, fi, sv).")
    async def categories(self, info: ContextInfo) -> list[Category]:
        async with info.context.database.read() as conn:
            rows = await lookup.categories_all(conn)
        return [Category.from_row(row) for row in rows]

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
        )

    nearby_deals: NearbyDealConnection = strawberry.field(
        resolver=nearby_deals,
        description="Deals valid at a store within radiusMeters (max 50 000) of near.",
    )
    nearby_merchants: NearbyMerchantConnection = strawberry.field(
        resolver=nearby_merchants,
        description="Merchants with a store within radiusMeters of near; a chain appears once.",
    )
    search_deals: DealSearchConnection = strawberry.field(
        resolver=search_deals_resolver,
        description=(
            "Full-text search over deals, merchants and categories in en/zh/fi/sv, typo- and "
            "accent-tolerant; near + radiusMeters is a hard filter, near alone biases "
            "relevance towards it. extensions.code SEARCH_UNAVAILABLE when search is down."
        ),
    )
    autocomplete: list[Suggestion] = strawberry.field(
        resolver=autocomplete_resolver,
        description="Suggestions for a typed prefix (merchants, deals, categories), near first.",
    )
    deals_in_view: DealMap = strawberry.field(
        resolver=deals_in_view_field,
        description="What a map shows in bbox at zoom: clusters below zoom 14, deals from 14 on.",
    )
