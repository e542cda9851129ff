"""The offer rule of ``domain/offer.py`` in SQL: the one condition every deal query uses.

:func:`on_offer` builds it for a deals table or alias and a ``now`` bind parameter;
:func:`on_offer_text` renders the same expression for the statements written as SQL text
(viewport and tiles), so there is still one definition.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, FromClause, and_, bindparam, literal_column, or_
from sqlalchemy.engine.default import DefaultDialect

from db.tables import deals
from domain.offer import PUBLISHED

NOW = "now"
"""The bind parameter the condition compares the sale window with."""


def on_offer(
    deal: FromClause = deals, now: ColumnElement[Any] | None = None
) -> ColumnElement[bool]:
    """Published, ``valid_from <= now < valid_until`` and in stock (NULL stock is not
    limited). The status is a literal, so plans can rely on it."""
    moment = bindparam(NOW) if now is None else now
    remaining = deal.c.remaining_quantity
    return and_(
        deal.c.status == literal_column(f"'{PUBLISHED}'"),
        deal.c.valid_from <= moment,
        deal.c.valid_until > moment,
        or_(remaining.is_(None), remaining > literal_column("0")),
    )


@lru_cache(maxsize=8)
def on_offer_text(alias: str) -> str:
    """:func:`on_offer` as SQL text over the deals alias ``alias``, binding ``:now``."""
    condition = on_offer(deals.alias(alias))
    # the generic dialect: no driver bind casts (``:now::timestamptz`` would confuse text())
    return str(condition.compile(dialect=DefaultDialect(paramstyle="named")))
