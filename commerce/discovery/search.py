"""Text search rules: validate the request, ask the index for ids, then let PostgreSQL tell.

The index answers which deals match and how well; one PostGIS statement then reads the page's
deals, their merchants and, given a point, each deal's nearest valid store with its geodesic
distance (:mod:`geo.found`), so price and stock are never stale. A deal deleted since it was
indexed is not listed (its position still counts for the cursors).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NamedTuple

from commerce.cursors import decode_opaque, encode_opaque
from commerce.discovery.filters import validate_deal_filter
from commerce.discovery.nearby import MAX_FIRST, MAX_RADIUS_M, check_point
from commerce.discovery.search_hours import MAX_OPEN_CANDIDATES, facets_of, open_matches
from commerce.errors import UnavailableError, UserInputError
from db.database import Database
from db.rows import DealRow, MerchantRow
from domain.filters import DealFilterValues
from domain.sorting import SortOrder
from geo.found import FoundRow, found_deals
from geo.nearby import Columns, NearestStore
from search.index import SearchIndex as SearchIndex
from search.index import SearchUnavailableError
from search.queries import Bucket, SearchResult
from search.queries import DealQuery as DealQuery
from search.queries import PriceBucket as PriceBucket
from search.suggest import Suggestion as Suggestion
from search.suggest import SuggestQuery as SuggestQuery

log = logging.getLogger("o2o.search")

SEARCH_UNAVAILABLE = "SEARCH_UNAVAILABLE"
MAX_TEXT_LENGTH = 200
MAX_SUGGESTIONS = 20
DEFAULT_DECAY_SCALE_M = 2000.0
# Search pages by offset: relevance scores are floats that not every server compares
# exactly in ``search_after``, and offsets are bounded by the index's result window anyway.
MAX_RESULT_WINDOW = 10_000


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """``searchDeals`` as the edge decoded it, before validation."""

    text: str
    now: datetime
    first: int
    sort: SortOrder = SortOrder.RELEVANCE
    after: str | None = None
    near: tuple[float, float] | None = None
    radius_m: float | None = None
    filter: DealFilterValues = field(default_factory=DealFilterValues)
    with_facets: bool = False
    with_highlights: bool = False


class FoundDeal(NamedTuple):
    """One deal of a page (a named tuple: a page makes one per hit); its cursor is made
    only when asked for."""

    deal_id: int
    score: float
    highlights: dict[str, list[str]]
    nearest: NearestStore | None
    deal: DealRow
    merchant: MerchantRow
    cursor_kind: str
    ordinal: int  # 1 for the first result of the whole search

    @property
    def cursor(self) -> str:
        return encode_opaque(self.cursor_kind, [self.ordinal])


@dataclass(frozen=True, slots=True)
class SearchPage:
    deals: list[FoundDeal]
    total: int
    has_next: bool
    categories: list[Bucket]
    price_ranges: list[PriceBucket]


def search_text(value: str, argument: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise UserInputError(argument, f"{argument} must not be empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise UserInputError(argument, f"{argument} is longer than {MAX_TEXT_LENGTH} characters")
    return text


def validate_search(request: SearchRequest) -> tuple[DealQuery, datetime | None]:
    """The index query, and the instant matches must have a store open at (if filtered)."""
    if not 1 <= request.first <= MAX_FIRST:
        raise UserInputError("first", f"first must be between 1 and {MAX_FIRST}")
    if request.near is not None:
        check_point(*request.near)
    if request.radius_m is not None:
        if request.near is None:
            raise UserInputError("radiusMeters", "radiusMeters needs near")
        if not math.isfinite(request.radius_m) or not 0 < request.radius_m <= MAX_RADIUS_M:
            raise UserInputError("radiusMeters", f"radiusMeters must be in (0, {MAX_RADIUS_M:.0f}]")
    if request.sort is SortOrder.DISTANCE and request.near is None:
        raise UserInputError("sort", "sort DISTANCE needs near")
    rules = validate_deal_filter(request.filter, request.now)
    query = DealQuery(
        text=search_text(request.text, "query"),
        now=request.now,
        size=request.first,
        sort=request.sort,
        near=request.near,
        radius_m=request.radius_m,
        decay_scale_m=max(request.radius_m / 2, 250.0)
        if request.radius_m
        else DEFAULT_DECAY_SCALE_M,
        conditions=rules,
        offset=_decode_offset(request.after, request.sort, request.first),
        with_facets=request.with_facets,
        with_highlights=request.with_highlights,
    )
    return query, rules.open_at


async def search_deals(
    database: Database, index: SearchIndex, request: SearchRequest
) -> SearchPage:
    """The page of ``request``."""
    query, open_at = validate_search(request)
    return await search_query(database, index, query, open_at)


async def search_query(
    database: Database,
    index: SearchIndex,
    query: DealQuery,
    open_at: datetime | None,
    *,
    fields: Columns | None = None,
) -> SearchPage:
    """The page of a validated query (:func:`validate_search`); ``fields``: see
    :func:`geo.found.found_deals` (the found rows are then views of these fields)."""
    if open_at is not None:
        return await _search_open(database, index, query, open_at)
    result = await _ask(index, query)
    rows: dict[int, FoundRow] = {}
    if result.hits:
        # one statement, on a driver connection: no SQLAlchemy pool or execution around it
        async with database.driver() as conn:
            ids = [hit.deal_id for hit in result.hits]
            rows = await found_deals(conn, ids, query.near, fields=fields)
    kind = _cursor_kind(query.sort)
    found = [
        FoundDeal(
            hit.deal_id, hit.score, hit.highlights, row.nearest, row.deal, row.merchant, kind,
            query.offset + position + 1,
        )
        for position, hit in enumerate(result.hits)
        if (row := rows.get(hit.deal_id)) is not None
    ]  # fmt: skip
    return SearchPage(
        deals=found,
        total=result.total,
        has_next=result.has_next,
        categories=result.categories,
        price_ranges=result.price_ranges,
    )


async def _ask(index: SearchIndex, query: DealQuery) -> SearchResult:
    try:
        return await index.search_deals(query)
    except SearchUnavailableError as error:
        raise _unavailable(error) from error


async def _search_open(
    database: Database, index: SearchIndex, query: DealQuery, at: datetime
) -> SearchPage:
    """Opening hours are judged here, over every match (at most MAX_OPEN_CANDIDATES)."""
    wide = replace(query, size=MAX_OPEN_CANDIDATES, offset=0, with_facets=False)
    result = await _ask(index, wide)
    if result.total > MAX_OPEN_CANDIDATES:
        raise UserInputError(
            "filter",
            f"more than {MAX_OPEN_CANDIDATES} deals match; narrow the query or the radius "
            "to filter them by opening hours",
        )
    async with database.read() as conn:
        matches = await open_matches(conn, result.hits, query.near, query.radius_m, at)
        ids = [match.hit.deal_id for match in matches]
        categories, prices = await facets_of(conn, ids) if query.with_facets else ([], [])
        end = query.offset + query.size
        page = matches[query.offset : end]
        rows = await found_deals(conn, [match.hit.deal_id for match in page], None)
    found = [
        FoundDeal(
            deal_id=match.hit.deal_id,
            score=match.hit.score,
            highlights=match.hit.highlights,
            nearest=match.store,
            deal=row.deal,
            merchant=row.merchant,
            cursor_kind=_cursor_kind(query.sort),
            ordinal=query.offset + position + 1,
        )
        for position, match in enumerate(page)
        if (row := rows.get(match.hit.deal_id)) is not None
    ]
    return SearchPage(found, len(matches), len(matches) > end, categories, prices)


async def autocomplete(index: SearchIndex, query: SuggestQuery, language: str) -> list[Suggestion]:
    if not 1 <= query.limit <= MAX_SUGGESTIONS:
        raise UserInputError("limit", f"limit must be between 1 and {MAX_SUGGESTIONS}")
    if query.near is not None:
        check_point(*query.near)
    checked = replace(query, prefix=search_text(query.prefix, "prefix"))
    try:
        return await index.suggest(checked, language)
    except SearchUnavailableError as error:
        raise _unavailable(error) from error


def _unavailable(error: SearchUnavailableError) -> UnavailableError:
    log.warning("search unavailable: %s", error)
    return UnavailableError(
        "Search is unavailable right now; nearby discovery still works.", SEARCH_UNAVAILABLE
    )


def _cursor_kind(sort: SortOrder) -> str:
    return f"search:{sort.value}"


def _decode_offset(cursor: str | None, sort: SortOrder, first: int) -> int:
    if not cursor:
        return 0

    def typed(values: Any) -> int:
        (offset,) = values
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError("bad offset")
        return offset

    offset = decode_opaque(cursor, _cursor_kind(sort), typed)
    if offset + first > MAX_RESULT_WINDOW:
        raise UserInputError(
            "after", f"search results end at {MAX_RESULT_WINDOW}; narrow the query instead"
        )
    return offset
