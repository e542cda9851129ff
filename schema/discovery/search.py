"""``searchDeals`` and ``autocomplete``: decode arguments, call the core, map the page.

The index only says which deals and how well; the deals, their merchants and nearest stores
come from PostgreSQL in one statement (so price and stock are as fresh as anywhere else) and
prime the loaders, so the deal's fields read no more rows.
"""

from __future__ import annotations

import enum
from typing import Annotated

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
from commerce.insights.attribution import Channel
from domain.sorting import SortOrder
from schema.discovery.funnel import ATTRIBUTION_DESCRIPTION, shown
from schema.discovery.inputs import DealFilter, GeoPointInput, deal_filter_values
from schema.discovery.nearby import wants_field
from schema.docs import describe_values
from schema.ids import to_global_id
from schema.paging import CURSOR_DOC, PAGE_INFO_DOC, After, First, PageInfo, page_info
from schema.types import ContextInfo, Deal, Store

DEFAULT_FIRST = 20
DEFAULT_SUGGESTIONS = 8
_HIGHLIGHT_NAMES = {"name": "title", "merchant_name": "merchantName", "description": "description"}


@strawberry.type(description="Matched fragments of one field, matches wrapped in <em>.")
class SearchHighlight:
    field: str = strawberry.field(
        description="Which field matched: title, merchantName or description."
    )
    snippets: list[str] = strawberry.field(
        description="Up to 3 fragments (about 120 characters) around the matches, matches in "
        "<em>; the rest is the stored text, not HTML-escaped: sanitise before inserting."
    )


@strawberry.type(description="A deal matching the text, with how well and where it matched.")
class DealSearchEdge:
    cursor: str = strawberry.field(description=CURSOR_DOC)
    score: float = strawberry.field(description="Relevance (text x (1 + closeness) with near).")
    distance_meters: float | None = strawberry.field(
        description="Geodesic metres to the nearest valid store, when near is given."
    )
    store: Store | None = strawberry.field(description="That nearest store (with near).")
    highlights: list[SearchHighlight] = strawberry.field(
        description="Matched fragments per field; computed only when selected."
    )
    node: Deal = strawberry.field(description="The deal, read from PostgreSQL (fresh price).")
    attribution: str | None = strawberry.field(default=None, description=ATTRIBUTION_DESCRIPTION)


@strawberry.type(description="How many matching deals are in one category.")
class CategoryFacet:
    value: str = strawberry.field(description="Category slug.")
    count: int = strawberry.field(description="Matching deals in it.")


@strawberry.type(description="Deals priced in [from, to) in their own currency.")
class PriceRangeFacet:
    from_: str | None = strawberry.field(
        name="from", description="Lowest price, inclusive (decimal string); null: no lower bound."
    )
    to: str | None = strawberry.field(
        description="Highest price, exclusive (decimal string); null: no upper bound."
    )
    count: int = strawberry.field(description="Matching deals in the range.")


@strawberry.type(description="Counts of all matches by category and price range.")
class SearchFacets:
    categories: list[CategoryFacet] = strawberry.field(description="Per category slug.")
    price_ranges: list[PriceRangeFacet] = strawberry.field(description="Per price range.")


@strawberry.type(description="A page of deals matching a text query.")
class DealSearchConnection:
    edges: list[DealSearchEdge] = strawberry.field(description="This page, in the sort order.")
    page_info: PageInfo = strawberry.field(description=PAGE_INFO_DOC)
    total_count: int = strawberry.field(description="All matches, whatever the page.")
    facets: SearchFacets | None = strawberry.field(
        description="Counts over every match (not only this page); null unless selected."
    )


@describe_values(
    MERCHANT="A merchant's name; id is a Merchant ID.",
    DEAL="A deal's title; id is a Deal ID.",
    CATEGORY="A category's name; id is a Category ID.",
)
@strawberry.enum(description="What a suggestion names.")
class SuggestionKind(enum.Enum):
    MERCHANT = "MERCHANT"
    DEAL = "DEAL"
    CATEGORY = "CATEGORY"


@strawberry.type(description="A completion of the typed prefix.")
class Suggestion:
    text: str = strawberry.field(description="What to show and, when picked, search for.")
    kind: SuggestionKind = strawberry.field(description="What it names.")
    id: strawberry.ID | None = strawberry.field(
        description="Global ID of the merchant, deal or category (use it with node)."
    )


async def resolve_search_deals(
    info: ContextInfo,
    query: Annotated[
        str,
        strawberry.argument(
            description="The words to find, 1 to 200 characters (any of en, zh, fi, sv)."
        ),
    ],
    near: Annotated[
        GeoPointInput | None,
        strawberry.argument(
            description="Where the user is: biases relevance towards it and adds distances."
        ),
    ] = None,
    radius_meters: Annotated[
        float | None,
        strawberry.argument(
            description="With near: only deals with a valid store within this many geodesic "
            "metres (above 0, at most 50000). Null: no distance limit."
        ),
    ] = None,
    filter: Annotated[
        DealFilter | None, strawberry.argument(description="Only deals matching all of these.")
    ] = None,
    sort: Annotated[
        SortOrder | None, strawberry.argument(description="Order of the list.")
    ] = SortOrder.RELEVANCE,
    first: First = DEFAULT_FIRST,
    after: After = None,
) -> DealSearchConnection | None:
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
    loaders.prime_deals([found.deal for found in page.deals])
    loaders.prime_merchants([found.merchant for found in page.deals])
    with_tokens = wants_field(info, "edges", "attribution")
    tokens = shown(info, [found.deal_id for found in page.deals], Channel.SEARCH, with_tokens)
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
            node=Deal.from_row(found.deal),
            attribution=token,
        )
        for found, token in zip(page.deals, tokens, strict=True)
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
    prefix: Annotated[
        str, strawberry.argument(description="What the user typed so far, 1 to 200 characters.")
    ],
    near: Annotated[
        GeoPointInput | None,
        strawberry.argument(description="Where the user is: suggestions near it come first."),
    ] = None,
    limit: Annotated[
        int | None, strawberry.argument(description="At most this many suggestions, 1 to 20.")
    ] = DEFAULT_SUGGESTIONS,
) -> list[Suggestion] | None:
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
