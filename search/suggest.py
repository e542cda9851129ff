"""Autocomplete: typo-tolerant prefix matches over merchants, deals and categories,
biased towards a point when one is given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from search.offer import on_offer_filters
from search.queries import FUZZINESS, closeness_boosted

SUGGEST_FIELDS = ["suggest", "suggest._2gram", "suggest._3gram"]
KINDS = ("merchant", "deal", "category")


@dataclass(frozen=True, slots=True)
class SuggestQuery:
    prefix: str
    now: datetime
    limit: int
    near: tuple[float, float] | None = None
    decay_scale_m: float = 5000.0


@dataclass(frozen=True, slots=True)
class Suggestion:
    text: str
    kind: str
    ref: str


def suggest_body(query: SuggestQuery) -> dict[str, Any]:
    live_deal = {"bool": {"filter": on_offer_filters(query.now)}}
    not_deal = {"bool": {"must_not": [{"term": {"kind": "deal"}}]}}
    as_you_type = {
        "multi_match": {"query": query.prefix, "type": "bool_prefix", "fields": SUGGEST_FIELDS}
    }
    # bool_prefix ignores fuzziness on its last (prefix) term: a typo'd word needs this
    typo_tolerant = {
        "match": {"suggest": {"query": query.prefix, "fuzziness": FUZZINESS, "prefix_length": 1}}
    }
    matched: dict[str, Any] = {
        "bool": {
            "should": [as_you_type, typo_tolerant],
            "minimum_should_match": 1,
            "filter": [{"bool": {"should": [live_deal, not_deal], "minimum_should_match": 1}}],
        }
    }
    if query.near is not None:
        matched = closeness_boosted(matched, query.near, query.decay_scale_m)
    # ask for more than needed: several documents can suggest the same text
    return {
        "query": matched,
        "size": query.limit * 3,
        "_source": ["kind", "ref", "labels"],
        "sort": ["_score", {"ref": "asc"}],
    }


def parse_suggestions(body: dict[str, Any], language: str, limit: int) -> list[Suggestion]:
    seen: set[tuple[str, str]] = set()
    suggestions: list[Suggestion] = []
    for raw in body["hits"]["hits"]:
        source = raw.get("_source") or {}
        labels: dict[str, str] = source.get("labels") or {}
        text = labels.get(language) or labels.get("en") or ""
        kind = str(source.get("kind", ""))
        if not text or kind not in KINDS or (kind, text.lower()) in seen:
            continue
        seen.add((kind, text.lower()))
        suggestions.append(Suggestion(text=text, kind=kind, ref=str(source.get("ref"))))
        if len(suggestions) == limit:
            break
    return suggestions
