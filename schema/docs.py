"""Descriptions for the parts of the schema Strawberry cannot describe in place.

Enum values described with ``strawberry.enum_value`` would type every member's ``.value`` as
an ``EnumValueDefinition`` for mypy, and ``DealSort`` is ``domain.sorting.SortOrder``, which
must not know Strawberry. :func:`describe_values` gives the values of an enum already
processed by ``strawberry.enum`` their descriptions, and refuses a set that does not name
every value exactly once (tests/unit/test_schema_docs.py checks the whole schema).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TypeVar

from strawberry.types.enum import StrawberryEnumDefinition

E = TypeVar("E", bound=type[enum.Enum])


def describe_values(**descriptions: str) -> Callable[[E], E]:
    """A decorator setting the GraphQL description of each value of a Strawberry enum, by
    value name; apply it above ``@strawberry.enum``."""

    def describe(enum_type: E) -> E:
        definition = getattr(enum_type, "__strawberry_definition__", None)
        if not isinstance(definition, StrawberryEnumDefinition):
            raise TypeError(f"{enum_type.__name__} is not a Strawberry enum yet")
        names = {value.name for value in definition.values}
        if names != set(descriptions):
            raise ValueError(
                f"{definition.name}: describe exactly {sorted(names)}, not {sorted(descriptions)}"
            )
        for value in definition.values:
            value.description = descriptions[value.name]
        return enum_type

    return describe
