"""``nearbyDeals`` and ``nearbyMerchants``: decode arguments, call the core, map the page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry

from commerce.cursors import encode_cursor
from commerce.nearby import NearbyRequest, find_nearby
from geo.nearby import Entity, NearbyPage, SortKey
from geo.rows import DealRow
from schema.inputs import DealFilter, DealSort, GeoPointInput, MerchantFilter, MerchantSort
from schema.types import ContextInfo, Deal, Merchant, PageInfo, Store

DEFAULT_RADIUS_M = 2000.0
DEFAULT_FIRST = 20


@strawberry.type
class NearbyDealEdge:
    cursor: str
    distance_meters: float = strawberry.field(description="Geodesic metres to the store.")
    store: Store = strawberry.field(description="Nearest store where the deal is valid.")
    node: Deal


@strawberry.type
class NearbyDealConnection:
    edges: list[NearbyDealEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="All matches, whatever the page.")


@strawberry.type
class NearbyMerchantEdge:
    cursor: str
    distance_meters: float
    nearest_store: Store
    node: Merchant


@strawberry.type
class NearbyMerchantConnection:
    edges: list[NearbyMerchantEdge]
    page_info: PageInfo
    total_count: int


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


def deal_sort_key(sort: DealSort) -> SortKey:
    return SortKey.DISTANCE if sort is DealSort.RELEVANCE else SortKey(sort.value)


def _request(
    info: ContextInfo,
    entity: Entity,
    near: GeoPointInput,
    radius_meters: float | None,
    sort: SortKey,
    first: int | None,
    after: str | None,
    filter_: DealFilter | MerchantFilter | None,
) -> NearbyRequest:
    price_min = getattr(filter_, "price_min", None)
    price_max = getattr(filter_, "price_max", None)
    return NearbyRequest(
        entity=entity,
        lat=near.lat,
        lng=near.lng,
        radius_m=DEFAULT_RADIUS_M if radius_meters is None else radius_meters,
        sort=sort,
        first=DEFAULT_FIRST if first is None else first,
        now=info.context.now(),
        after=after,
        categories=tuple(filter_.categories) if filter_ and filter_.categories else None,
        price_min=price_min,
        price_max=price_max,
        min_rating=filter_.min_rating if filter_ else None,
        open_now=filter_.open_now if filter_ else None,
        open_at=filter_.open_at if filter_ else None,
        with_total=wants_field(info, "totalCount"),
    )


async def _run(info: ContextInfo, request: NearbyRequest) -> NearbyPage:
    async with info.context.database.read() as conn:
        page = await find_nearby(conn, request)
    info.context.loaders.prime_stores([hit.store for hit in page.hits])
    info.context.loaders.prime_merchants([hit.merchant for hit in page.hits])
    return page


def _page_info(cursors: list[str], has_next: bool) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


async def nearby_deals(
    info: ContextInfo,
    near: GeoPointInput,
    radius_meters: float | None = DEFAULT_RADIUS_M,
    filter: DealFilter | None = None,
    sort: DealSort | None = DealSort.DISTANCE,
    first: int | None = DEFAULT_FIRST,
    after: str | None = None,
) -> NearbyDealConnection:
    key = deal_sort_key(sort or DealSort.DISTANCE)
    request = _request(info, Entity.DEAL, near, radius_meters, key, first, after, filter)
    page = await _run(info, request)
    deals = [hit.entity for hit in page.hits if isinstance(hit.entity, DealRow)]
    info.context.loaders.prime_deals(deals)
    edges = [
        NearbyDealEdge(
            cursor=encode_cursor(key, hit.sort_key),
            distance_meters=round(hit.distance_m, 2),
            store=Store.from_row(hit.store),
            node=Deal.from_row(deal),
        )
        for hit, deal in zip(page.hits, deals, strict=True)
    ]
    return NearbyDealConnection(
        edges=edges,
        page_info=_page_info([e.cursor for e in edges], page.has_next),
        total_count=page.total or 0,
    )


async def nearby_merchants(
    info: ContextInfo,
    near: GeoPointInput,
    radius_meters: float | None = DEFAULT_RADIUS_M,
    filter: MerchantFilter | None = None,
    sort: MerchantSort | None = MerchantSort.DISTANCE,
    first: int | None = DEFAULT_FIRST,
    after: str | None = None,
) -> NearbyMerchantConnection:
    key = SortKey((sort or MerchantSort.DISTANCE).value)
    request = _request(info, Entity.MERCHANT, near, radius_meters, key, first, after, filter)
    page = await _run(info, request)
    merchants = [hit.merchant for hit in page.hits]
    edges = [
        NearbyMerchantEdge(
            cursor=encode_cursor(key, hit.sort_key),
            distance_meters=round(hit.distance_m, 2),
            nearest_store=Store.from_row(hit.store),
            node=Merchant.from_row(merchant),
        )
        for hit, merchant in zip(page.hits, merchants, strict=True)
    ]
    return NearbyMerchantConnection(
        edges=edges,
        page_info=_page_info([e.cursor for e in edges], page.has_next),
        total_count=page.total or 0,
    )
