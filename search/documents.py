"""Search documents built from PostgreSQL rows (described here as protocols, so the search
package needs nothing from the SQL side). Document ids: ``deal-<id>``, ``merchant-<id>``,
``category-<slug>``."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Protocol

from domain.offer import OfferTerms
from search.offer import offer_fields

LANGUAGES = ("en", "zh", "fi", "sv")


class CategoryLike(Protocol):
    @property
    def slug(self) -> str: ...
    @property
    def names(self) -> dict[str, str]: ...
    @property
    def terms(self) -> dict[str, list[str]]: ...


class MerchantLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def names(self) -> dict[str, str]: ...
    @property
    def rating(self) -> Decimal | None: ...
    @property
    def category(self) -> CategoryLike: ...
    @property
    def locations(self) -> list[tuple[float, float]]: ...


class DealLike(OfferTerms, Protocol):
    """A deal with what its document shows; the offer terms come from ``domain.offer``."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def discount_percent(self) -> int: ...
    @property
    def merchant_id(self) -> int: ...
    @property
    def merchant_name(self) -> str: ...
    @property
    def merchant_names(self) -> dict[str, str]: ...
    @property
    def rating(self) -> Decimal | None: ...
    @property
    def category(self) -> CategoryLike: ...
    @property
    def locations(self) -> list[tuple[float, float]]: ...


def deal_doc_id(deal_id: int) -> str:
    return f"deal-{deal_id}"


def merchant_doc_id(merchant_id: int) -> str:
    return f"merchant-{merchant_id}"


def category_doc_id(slug: str) -> str:
    return f"category-{slug}"


def category_labels(category: CategoryLike) -> dict[str, str]:
    """Labels per supported language; the data has zh-CN and zh-TW, ``zh`` takes zh-CN."""
    names = category.names
    labels = {code: names[code] for code in LANGUAGES if names.get(code)}
    if "zh" not in labels and names.get("zh-CN"):
        labels["zh"] = names["zh-CN"]
    labels.setdefault("en", category.slug.replace("_", " "))
    return labels


def category_text(category: CategoryLike) -> str:
    """Every label and synonym of a category in every language ("咖啡" finds cafes)."""
    words = [category.slug.replace("_", " "), *category.names.values()]
    for terms in category.terms.values():
        words.extend(terms)
    return " \n".join(_unique(words))


def deal_document(deal: DealLike) -> dict[str, Any]:
    merchant_labels = _merchant_labels(deal.merchant_name, deal.merchant_names)
    return {
        "kind": "deal",
        "ref": str(deal.id),
        "deal_id": deal.id,
        "merchant_id": str(deal.merchant_id),
        "name": deal.title,
        "names": with_spelling_variants([deal.title]),
        "description": deal.description,
        "merchant_name": with_spelling_variants(merchant_labels.values()),
        "category": deal.category.slug,
        "category_text": category_text(deal.category),
        "price": float(deal.price),
        "currency": deal.currency,
        "discount": deal.discount_percent,
        "rating": _rating(deal.rating),
        **offer_fields(deal),
        "location": _points(deal.locations),
        "stores": [{"location": point} for point in _points(deal.locations)],
        "suggest": deal.title,
        "labels": {"en": deal.title},
    }


def merchant_document(merchant: MerchantLike) -> dict[str, Any]:
    labels = _merchant_labels(merchant.name, merchant.names)
    return {
        "kind": "merchant",
        "ref": str(merchant.id),
        "merchant_id": str(merchant.id),
        "name": merchant.name,
        "names": with_spelling_variants(labels.values()),
        "category": merchant.category.slug,
        "category_text": category_text(merchant.category),
        "rating": _rating(merchant.rating),
        "location": _points(merchant.locations),
        "suggest": list(_unique(labels.values())),
        "labels": labels,
    }


def category_document(category: CategoryLike) -> dict[str, Any]:
    labels = category_labels(category)
    return {
        "kind": "category",
        "ref": category.slug,
        "category": category.slug,
        "name": labels["en"],
        "names": " \n".join(_unique(labels.values())),
        "category_text": category_text(category),
        "suggest": list(_unique(labels.values())),
        "labels": labels,
    }


def with_spelling_variants(labels: Iterable[str]) -> str:
    """Labels plus their apostrophe-free spellings: "Molly Malone's" is also "Molly Malones",
    one typo away from "malonse" (done here because not every server applies char filters)."""
    words = list(labels)
    words += [w.replace("'", "").replace("\u2019", "") for w in words]
    return " \n".join(_unique(words))


def _merchant_labels(name: str, names: dict[str, str]) -> dict[str, str]:
    labels = {code: names[code] for code in LANGUAGES if names.get(code)}
    labels["en"] = names.get("en") or name
    return labels


def _rating(rating: Decimal | None) -> float | None:
    return None if rating is None else float(rating)


def _points(locations: list[tuple[float, float]]) -> list[dict[str, float]]:
    return [{"lat": lat, "lon": lng} for lat, lng in locations]


def _unique(words: Iterable[str]) -> list[str]:
    """Words in order, each once (case-insensitive), blanks dropped."""
    seen: set[str] = set()
    unique: list[str] = []
    for word in (w.strip() for w in words):
        if word and word.lower() not in seen:
            seen.add(word.lower())
            unique.append(word)
    return unique
