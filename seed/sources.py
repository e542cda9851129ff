"""Readers of the bundled data files (see seed/data/ATTRIBUTION.md for their licences)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
LANGUAGES = ("en", "zh", "fi", "sv")
_LABEL_KEYS = {"en": "en", "zh": "zh-CN", "fi": "fi", "sv": "sv"}


def read_ndjson(name: str) -> Iterator[dict[str, Any]]:
    with (DATA_DIR / name).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def category_catalogue() -> dict[str, tuple[dict[str, str], dict[str, list[str]]]]:
    """Category slug -> (names by language, search terms by language), first preset wins."""
    presets: dict[str, Any] = json.loads(
        (DATA_DIR / "category_i18n.json").read_text(encoding="utf-8")
    )
    catalogue: dict[str, tuple[dict[str, str], dict[str, list[str]]]] = {}
    for preset in presets.values():
        slug = preset["category"]
        names, terms = catalogue.setdefault(slug, ({}, {}))
        for lang, key in _LABEL_KEYS.items():
            label = preset.get("labels", {}).get(key)
            if label and lang not in names:
                names[lang] = label
            for term in preset.get("terms", {}).get(key, []):
                if term not in terms.setdefault(lang, []):
                    terms[lang].append(term)
    return catalogue


def city(name: str) -> dict[str, Any]:
    for row in read_ndjson("cities.ndjson"):
        if row["name"] == name:
            return row
    raise LookupError(f"city {name!r} is not in cities.ndjson")
