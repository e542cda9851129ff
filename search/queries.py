"""Search request bodies and their parsed results (ids, scores, highlights, facets).

Relevance blends text and distance in one explainable product::

    score = text relevance (BM25 over the multilingual fields) x (1 + closeness)
    closeness = gauss(distance to the nearest store; 0.5 at ``decay_scale_m``)

so a perfect text match next door scores twice the same match far away, and distance never
outweighs a much better text match.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.filters import DealConditions
from domain.sorting import SortOrder
from search.offer import on_offer_filters

PRICE_BUCKETS: tuple[tuple[float | None, float | None], ...] = (
    (None, 10.0),
    (10.0, 25.0),
    (25.0, 50.0),
    (50.0, 100.0),
    (100.0, 250.0),
    (250.0, None),
)
MAX_CATEGORY_FACETS = 200
_BOOSTS = {
    "name": 3.0,
    "merchant_name": 2.0,
    "names": 2.0,
    "category_text": 2.0,
    "description": 0.5,
}
_SUBFIELDS = ("", ".en", ".cjk")
# up to two words must all match, longer queries three quarters of them (Chinese text is
# split into single characters by the folded fields: one shared character is not a match)
MINIMUM_SHOULD_MATCH = "2<75%"
# one typo from 4 letters, two from 7: "malonse" reaches "malone's", "bageri" not "bakers"
FUZZINESS = "AUTO:4,7"
_FUZZY_FIELDS = ("name", "merchant_name", "names")
HIGHLIGHT_FIELDS = ("name", "merchant_name", "description")


@dataclass(frozen=True, slots=True)
class DealQuery:
    text: str
    now: datetime
    size: int
    sort: SortOrder = SortOrder.RELEVANCE
    near: tuple[float, float] | None = None
    radius_m: float | None = None
    decay_scale_m: float = 2000.0
    conditions: DealConditions = field(default_factory=DealConditions)
    offset: int = 0
    with_facets: bool = False
    with_highlights: bool = False


@dataclass(frozen=True, slots=True)
class SearchHit:
    deal_id: int
    score: float
    highlights: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Bucket:
    value: str
    count: int


@dataclass(frozen=True, slots=True)
class PriceBucket:
    low: float | None
    high: float | None
    count: int


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: list[SearchHit]
    total: int
    has_next: bool
    categories: list[Bucket]
    price_ranges: list[PriceBucket]


def text_fields() -> list[str]:
    return [f"{name}{sub}^{boost:g}" for name, boost in _BOOSTS.items() for sub in _SUBFIELDS]


def _point(near: tuple[float, float]) -> dict[str, float]:
    return {"lat": near[0], "lon": near[1]}


def deal_filters(query: DealQuery) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = on_offer_filters(query.now)
    if query.near is not None and query.radius_m is not None:
        within = {"distance": f"{query.radius_m}m", "stores.location": _point(query.near)}
        filters.append({"nested": {"path": "stores", "query": {"geo_distance": within}}})
    return filters + condition_filters(query.conditions)


def condition_filters(wanted: DealConditions) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    if wanted.categories:
        filters.append({"terms": {"category": list(wanted.categories)}})
    price: dict[str, float] = {}
    if wanted.price_min is not None:
        price["gte"] = float(wanted.price_min)
    if wanted.price_max is not None:
        price["lte"] = float(wanted.price_max)
    if price:
        filters.append({"range": {"price": price}})
    if wanted.min_rating is not None:
        filters.append({"range": {"rating": {"gte": float(wanted.min_rating)}}})
    return filters


def text_match(text: str) -> dict[str, Any]:
    """Exact (analysed) matches on every field, or typo-tolerant matches on names only:
    fuzzy synonyms and descriptions would match far too much."""
    exact = {
        "multi_match": {
            "query": text,
            "fields": text_fields(),
            "type": "best_fields",
            "minimum_should_match": MINIMUM_SHOULD_MATCH,
        }
    }
    fuzzy = {
        "multi_match": {
            "query": text,
            "minimum_should_match": MINIMUM_SHOULD_MATCH,
            "fields": [f"{name}^{_BOOSTS[name]:g}" for name in _FUZZY_FIELDS],
            "type": "best_fields",
            "fuzziness": FUZZINESS,
            "prefix_length": 1,
            "boost": 0.3,
        }
    }
    return {"bool": {"should": [exact, fuzzy], "minimum_should_match": 1}}


def _scored(query: DealQuery) -> dict[str, Any]:
    matched = {"bool": {"must": [text_match(query.text)], "filter": deal_filters(query)}}
    if query.near is None:
        return matched
    return closeness_boosted(matched, query.near, query.decay_scale_m)


def closeness_boosted(
    query: dict[str, Any], near: tuple[float, float], scale_m: float
) -> dict[str, Any]:
    """``score x (1 + closeness)``: see the module docstring."""
    gauss = {"location": {"origin": _point(near), "scale": f"{scale_m:.0f}m", "decay": 0.5}}
    return {
        "function_score": {
            "query": query,
            "functions": [
                {"filter": {"match_all": {}}, "weight": 1},
                {"gauss": gauss, "weight": 1},
            ],
            "score_mode": "sum",
            "boost_mode": "multiply",
        }
    }


def _sort(query: DealQuery) -> list[Any]:
    tiebreak = {"deal_id": "asc"}
    if query.sort is SortOrder.DISTANCE and query.near is not None:
        geo = {"location": _point(query.near), "order": "asc", "unit": "m", "mode": "min"}
        return [{"_geo_distance": geo}, tiebreak]
    leading: dict[SortOrder, list[Any]] = {
        SortOrder.RATING: [{"rating": {"order": "desc", "missing": "_last"}}, "_score"],
        SortOrder.PRICE_ASC: [{"price": "asc"}],
        SortOrder.PRICE_DESC: [{"price": "desc"}],
        SortOrder.DISCOUNT: [{"discount": "desc"}, "_score"],
    }
    return [*leading.get(query.sort, ["_score"]), tiebreak]


def deal_search_body(query: DealQuery) -> dict[str, Any]:
    body: dict[str, Any] = {
        "query": _scored(query),
        "sort": _sort(query),
        "size": query.size + 1,
        "track_total_hits": True,
        "track_scores": True,
        "_source": False,
    }
    if query.offset:
        body["from"] = query.offset
    if query.with_highlights:
        fields: dict[str, dict[str, Any]] = {
            f"{name}{sub}": {} for name in HIGHLIGHT_FIELDS for sub in _SUBFIELDS
        }
        body["highlight"] = {"fields": fields, "number_of_fragments": 3, "fragment_size": 120}
    if query.with_facets:
        body["aggs"] = {
            "categories": {"terms": {"field": "category", "size": MAX_CATEGORY_FACETS}},
            "prices": {"range": {"field": "price", "ranges": _price_ranges()}},
        }
    return body


def _price_ranges() -> list[dict[str, float]]:
    ranges: list[dict[str, float]] = []
    for low, high in PRICE_BUCKETS:
        bucket: dict[str, float] = {}
        if low is not None:
            bucket["from"] = low
        if high is not None:
            bucket["to"] = high
        ranges.append(bucket)
    return ranges


def parse_deal_search(body: dict[str, Any], size: int) -> SearchResult:
    raw_hits = body["hits"].get("hits", [])
    hits = [_hit(raw) for raw in raw_hits[:size]]
    aggregations = body.get("aggregations") or {}
    categories = [
        Bucket(value=str(b["key"]), count=int(b["doc_count"]))
        for b in aggregations.get("categories", {}).get("buckets", [])
    ]
    prices = [
        PriceBucket(low=b.get("from"), high=b.get("to"), count=int(b["doc_count"]))
        for b in aggregations.get("prices", {}).get("buckets", [])
    ]
    return SearchResult(
        hits=hits,
        total=int(body["hits"]["total"]["value"]),
        has_next=len(raw_hits) > size,
        categories=categories,
        price_ranges=prices,
    )


def _hit(raw: dict[str, Any]) -> SearchHit:
    highlights: dict[str, list[str]] = {}
    for name, snippets in (raw.get("highlight") or {}).items():
        merged = highlights.setdefault(name.split(".", 1)[0], [])
        merged.extend(s for s in snippets if s not in merged)
    return SearchHit(
        deal_id=int(raw["_id"].removeprefix("deal-")),
        score=float(raw.get("_score") or 0.0),
        highlights=highlights,
    )
