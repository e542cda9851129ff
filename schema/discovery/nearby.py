"""``nearbyDeals`` and ``nearbyMerchants``: decode arguments, call the core, map the page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import strawberry

from commerce.discovery.nearby import Entity, NearbyPage, NearbyRequest, cursor_of, read_nearby
from commerce.insights.attribution import Channel
from db.rows import DealRow
from domain.sorting import SortOrder
from schema.discovery.funnel import ATTRIBUTION_DESCRIPTION, shown
from schema.discovery.inputs import (
    DealFilter,
    GeoPointInput,
    MerchantFilter,
    MerchantSort,
    deal_filter_values,
)
from schema.paging import CURSOR_DOC, PAGE_INFO_DOC, After, First, PageInfo, page_info
from schema.types import ContextInfo, Deal, Merchant, Store

DEFAULT_RADIUS_M = 2000.0
DEFAULT_FIRST = 20


@strawberry.type(description="A deal near the point, with its nearest valid store.")
class NearbyDealEdge:
    cursor: str = strawberry.field(description=CURSOR_DOC)
    distance_meters: float = strawberry.field(
        description="Geodesic metres (on the WGS-84 spheroid) from near to store, 2 decimals."
    )
    store: Store = strawberry.field(
        description="Nearest store where the deal is valid (with openNow/openAt: nearest open)."
    )
    node: Deal = strawberry.field(description="The deal, on offer now.")
    attribution: str | None = strawberry.field(default=None, description=ATTRIBUTION_DESCRIPTION)


@strawberry.type(description="A page of deals on offer near a point.")
class NearbyDealConnection:
    edges: list[NearbyDealEdge] = strawberry.field(description="This page, in the sort order.")
    page_info: PageInfo = strawberry.field(description=PAGE_INFO_DOC)
    total_count: int = strawberry.field(description="All matches, whatever the page.")


@strawberry.type(description="A merchant near the point, with its nearest store.")
class NearbyMerchantEdge:
    cursor: str = strawberry.field(description=CURSOR_DOC)
    distance_meters: float = strawberry.field(
        description="Geodesic metres from near to nearestStore, 2 decimals."
    )
    nearest_store: Store = strawberry.field(
        description="The merchant's nearest store in the radius (with openNow/openAt: nearest "
        "open one)."
    )
    node: Merchant = strawberry.field(description="The merchant (a chain appears once).")


@strawberry.type(description="A page of merchants with a store near a point.")
class NearbyMerchantConnection:
    edges: list[NearbyMerchantEdge] = strawberry.field(description="This page, in the sort order.")
    page_info: PageInfo = strawberry.field(description=PAGE_INFO_DOC)
    total_count: int = strawberry.field(description="All matches, whatever the page.")


def wants_field(info: ContextInfo, *path: str) -> bool:
    """Whether the client selected ``path`` (e.g. ``"edges", "highlights"``) under this
    field, fragments included."""
    return any(_selects(field.selections, path) for field in info.selected_fields)


def _selects(selections: Iterable[Any], path: tuple[str, ...]) -> bool:
    name, rest = path[0], path[1:]
    for selection in selections:
        if not hasattr(selection, "arguments"):  # a fragment spread or inline fragment
            if _selects(selection.selections, path):
                return True
        elif selection.name == name and (not rest or _selects(selection.selections, rest)):
            return True
    return False


def _request(
    info: ContextInfo,
    entity: Entity,
    near: GeoPointInput,
    radius_meters: float | None,
    sort: SortOrder,
    first: int | None,
    after: str | None,
    filter_: DealFilter | MerchantFilter | None,
) -> NearbyRequest:
    return NearbyRequest(
        entity=entity,
        lat=near.lat,
        lng=near.lng,
        radius_m=DEFAULT_RADIUS_M if radius_meters is None else radius_meters,
        sort=sort,
        first=DEFAULT_FIRST if first is None else first,
        now=info.context.now(),
        after=after,
        filter=deal_filter_values(filter_),
        with_total=wants_field(info, "totalCount"),
    )


async def _run(info: ContextInfo, request: NearbyRequest) -> NearbyPage:
    page = await read_nearby(info.context.database, request)
    info.context.loaders.prime_stores([hit.store for hit in page.hits])
    info.context.loaders.prime_merchants([hit.merchant for hit in page.hits])
    return page


async def resolve_nearby_deals(
    info: ContextInfo,
    near: Annotated[
        GeoPointInput, strawberry.argument(description="The point to search around (WGS-84).")
    ],
    radius_meters: Annotated[
        float | None,
        strawberry.argument(
            description="Search radius in geodesic metres, above 0, at most 50000."
        ),
    ] = DEFAULT_RADIUS_M,
    filter: Annotated[
        DealFilter | None, strawberry.argument(description="Only deals matching all of these.")
    ] = None,
    sort: Annotated[
        SortOrder | None, strawberry.argument(description="Order of the list.")
    ] = SortOrder.DISTANCE,
    first: First = DEFAULT_FIRST,
    after: After = None,
) -> NearbyDealConnection | None:
    order = sort or SortOrder.DISTANCE
    request = _request(info, Entity.DEAL, near, radius_meters, order, first, after, filter)
    page = await _run(info, request)
    deals = [hit.entity for hit in page.hits if isinstance(hit.entity, DealRow)]
    info.context.loaders.prime_deals(deals)
    with_tokens = wants_field(info, "edges", "attribution")
    tokens = shown(info, [deal.id for deal in deals], Channel.NEARBY, with_tokens)
    edges = [
        NearbyDealEdge(
            cursor=cursor_of(request, hit),
            distance_meters=round(hit.distance_m, 2),
            store=Store.from_row(hit.store),
            node=Deal.from_row(deal),
            attribution=token,
        )
        for hit, deal, token in zip(page.hits, deals, tokens, strict=True)
    ]
    return NearbyDealConnection(
        edges=edges,
        page_info=page_info([e.cursor for e in edges], page.has_next),
        total_count=page.total or 0,
    )


async def resolve_nearby_merchants(
    info: ContextInfo,
    near: Annotated[
        GeoPointInput, strawberry.argument(description="The point to search around (WGS-84).")
    ],
    radius_meters: Annotated[
        float | None,
        strawberry.argument(
            description="Search radius in geodesic metres, above 0, at most 50000."
        ),
    ] = DEFAULT_RADIUS_M,
    filter: Annotated[
        MerchantFilter | None,
        strawberry.argument(description="Only merchants matching all of these."),
    ] = None,
    sort: Annotated[
        MerchantSort | None, strawberry.argument(description="Order of the list.")
    ] = MerchantSort.DISTANCE,
    first: First = DEFAULT_FIRST,
    after: After = None,
) -> NearbyMerchantConnection | None:
    order = SortOrder((sort or MerchantSort.DISTANCE).value)
    request = _request(info, Entity.MERCHANT, near, radius_meters, order, first, after, filter)
    page = await _run(info, request)
    merchants = [hit.merchant for hit in page.hits]
    edges = [
        NearbyMerchantEdge(
            cursor=cursor_of(request, hit),
            distance_meters=round(hit.distance_m, 2),
            nearest_store=Store.from_row(hit.store),
            node=Merchant.from_row(merchant),
        )
        for hit, merchant in zip(page.hits, merchants, strict=True)
    ]
    return NearbyMerchantConnection(
        edges=edges,
        page_info=page_info([e.cursor for e in edges], page.has_next),
        total_count=page.total or 0,
    )
