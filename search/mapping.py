"""Index settings and mappings: one index of deals, merchants and categories.

Every text field is indexed three ways: ``folded`` (lowercase + ASCII folding, so
"thehuone" finds "Théhuone" and "kafe" finds "kafé": what Finnish and Swedish names need),
``en`` (English stemming: "lunches" finds "lunch") and ``cjk`` (bigrams for Chinese, which has
no spaces for a word tokenizer to split on). ``suggest`` is a ``search_as_you_type`` field
for autocomplete.

Finnish and Swedish stemmers are left out on purpose: the in-memory test server's Finnish
stemmer makes every document match. On a real cluster they are one more entry in
``_STEMMED`` (bump ``MAPPING_VERSION`` and run ``o2o reindex``).
"""

from __future__ import annotations

from typing import Any

from search.offer import offer_mappings

MAPPING_VERSION = 3
"""2: deals carry ``in_stock``; 3: and ``status`` (``search/offer.py``)."""

_STEMMED = {"en": "english"}


def analysis() -> dict[str, Any]:
    filters: dict[str, Any] = {
        f"{code}_stem": {"type": "stemmer", "language": language}
        for code, language in _STEMMED.items()
    }
    analyzers: dict[str, Any] = {
        "folded": _custom("lowercase", "asciifolding"),
        "cjk": _custom("cjk_width", "lowercase", "cjk_bigram"),
    }
    for code in _STEMMED:
        analyzers[code] = _custom("lowercase", f"{code}_stem", "asciifolding")
    return {"filter": filters, "analyzer": analyzers}


def _custom(*filters: str) -> dict[str, Any]:
    return {"type": "custom", "tokenizer": "standard", "filter": list(filters)}


def multilingual_text() -> dict[str, Any]:
    subfields = {code: {"type": "text", "analyzer": code} for code in (*_STEMMED, "cjk")}
    return {"type": "text", "analyzer": "folded", "fields": subfields}


TEXT_FIELDS = ("name", "names", "description", "merchant_name", "category_text")


def mappings() -> dict[str, Any]:
    properties: dict[str, Any] = {name: multilingual_text() for name in TEXT_FIELDS}
    properties.update(
        {
            "kind": {"type": "keyword"},
            "ref": {"type": "keyword"},
            "deal_id": {"type": "long"},
            "merchant_id": {"type": "keyword"},
            "category": {"type": "keyword"},
            "price": {"type": "scaled_float", "scaling_factor": 100},
            "currency": {"type": "keyword"},
            "discount": {"type": "integer"},
            "rating": {"type": "float"},
            "location": {"type": "geo_point"},
            # one nested point per store: the radius filter (some servers filter a plain
            # multi-valued geo_point on one point only; sorting and decay use ``location``)
            "stores": {"type": "nested", "properties": {"location": {"type": "geo_point"}}},
            "suggest": {"type": "search_as_you_type", "analyzer": "folded"},
            "labels": {"type": "object", "enabled": False},
        }
    )
    properties.update(offer_mappings())
    return {"dynamic": "strict", "properties": properties}


def index_body(shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    return {
        "settings": {
            "number_of_shards": shards,
            "number_of_replicas": replicas,
            "analysis": analysis(),
        },
        "mappings": mappings(),
    }
