"""``searchDeals`` and ``autocomplete``: decode arguments, call the core, map the page.

The index only says which deals and how well; the deals themselves come through the
loaders (PostgreSQL), so price and stock are as fresh as anywhere else.
"""

from __future__ import annotations

import enum

import strawberry

from commerce.discovery.search import (
    PriceBucket,
    SearchPage,
    SearchRequest,
    SuggestQuery,
    autocomplete,
    search_deals,
)
from commerce.discovery.search import Suggestion as FoundSuggestion
from domain.sorting import SortOrder
from schema.discovery.inputs import DealFilter, GeoPointInput, deal_filter_values
from schema.discovery.nearby import wants_field
from schema.ids import to_global_id
from schema.paging import PageInfo, page_info
from schema.types import ContextInfo, Deal, Store

DEFAULT_FIRST = 20
DEFAULT_SUGGESTIONS = 8
_HIGHLIGHT_NAMES = {"name": "title", "merchant_name": "merchantName", "description": "description"}


@strawberry.type(description="Matched fragments of one field, matches wrapped in <em>.")
class SearchHighlight:
    field: str
    snippets: list[str]


@strawberry.type
class DealSearchEdge:
    cursor: str
    score: float = strawberry.field(description="Relevance (text x (1 + closeness) with near).")
    distance_meters: float | None = strawberry.field(
        description="Geodesic metres to the nearest valid store, when near is given."
    )
    store: Store | None = strawberry.field(description="That nearest store (with near).")
    highlights: list[SearchHighlight]
    node: Deal


@strawberry.type
class CategoryFacet:
    value: str = strawberry.field(description="Category slug.")
    count: int


@strawberry.type(description="Deals priced in [from, to) in their own currency.")
class PriceRangeFacet:
    from_: str | None = strawberry.field(name="from")
    to: str | None
    count: int


@strawberry.type
class SearchFacets:
    categories: list[CategoryFacet]
    price_ranges: list[PriceRangeFacet]


@strawberry.type
class DealSearchConnection:
    edges: list[DealSearchEdge]
    page_info: PageInfo
    total_count: int
    facets: SearchFacets | None = strawberry.field(
        description="Counts over every match (not only this page); null unless selected."
    )


@strawberry.enum
class SuggestionKind(enum.Enum):
    MERCHANT = "MERCHANT"
    DEAL = "DEAL"
    CATEGORY = "CATEGORY"


@strawberry.type
class Suggestion:
    text: str
    kind: SuggestionKind
    id: strawberry.ID | None


async def resolve_search_deals(
    info: ContextInfo,
    query: str,
    near: GeoPointInput | None = None,
    radius_meters: float | None = None,
    filter: DealFilter | None = None,
    sort: SortOrder | None = SortOrder.RELEVANCE,
    first: int | None = DEFAULT_FIRST,
    after: str | None = None,
) -> DealSearchConnection:
    request = SearchRequest(
        text=query,
        now=info.context.now(),
        first=DEFAULT_FIRST if first is None else first,
        sort=sort or SortOrder.RELEVANCE,
        after=after,
        near=(near.lat, near.lng) if near else None,
        radius_m=radius_meters,
        filter=deal_filter_values(filter),
        with_facets=wants_field(info, "facets"),
        with_highlights=wants_field(info, "edges", "highlights"),
    )
    page = await search_deals(info.context.database, info.context.search, request)
    return await _connection(info, page)


async def _connection(info: ContextInfo, page: SearchPage) -> DealSearchConnection:
    loaders = info.context.loaders
    loaders.prime_stores([f.nearest.store for f in page.deals if f.nearest])
    rows = await loaders.deal.load_many([found.deal_id for found in page.deals])
    edges = [
        DealSearchEdge(
            cursor=found.cursor,
            score=round(found.score, 6),
            distance_meters=round(found.nearest.distance_m, 2) if found.nearest else None,
            store=Store.from_row(found.nearest.store) if found.nearest else None,
            highlights=[
                SearchHighlight(field=_HIGHLIGHT_NAMES.get(name, name), snippets=snippets)
                for name, snippets in found.highlights.items()
            ],
            node=Deal.from_row(row),
        )
        for found, row in zip(page.deals, rows, strict=True)
        if row is not None  # deleted since it was indexed: PostgreSQL decides
    ]
    return DealSearchConnection(
        edges=edges,
        page_info=page_info([e.cursor for e in edges], page.has_next),
        total_count=page.total,
        facets=SearchFacets(
            categories=[CategoryFacet(value=b.value, count=b.count) for b in page.categories],
            price_ranges=[_price_facet(b) for b in page.price_ranges],
        ),
    )


def _price_facet(bucket: PriceBucket) -> PriceRangeFacet:
    return PriceRangeFacet(
        from_=None if bucket.low is None else f"{bucket.low:.2f}",
        to=None if bucket.high is None else f"{bucket.high:.2f}",
        count=bucket.count,
    )


async def resolve_autocomplete(
    info: ContextInfo,
    prefix: str,
    near: GeoPointInput | None = None,
    limit: int | None = DEFAULT_SUGGESTIONS,
) -> list[Suggestion]:
    query = SuggestQuery(
        prefix=prefix,
        now=info.context.now(),
        limit=DEFAULT_SUGGESTIONS if limit is None else limit,
        near=(near.lat, near.lng) if near else None,
    )
    found = await autocomplete(info.context.search, query, info.context.language)
    return [_suggestion(s) for s in found]


def _suggestion(found: FoundSuggestion) -> Suggestion:
    kind = SuggestionKind(found.kind.upper())
    type_name = {"MERCHANT": "Merchant", "DEAL": "Deal", "CATEGORY": "Category"}[kind.value]
    return Suggestion(
        text=found.text, kind=kind, id=strawberry.ID(to_global_id(type_name, found.ref))
    )
