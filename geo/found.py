"""The deals a search found, read in one statement: each deal with its merchant and, given a
point, its nearest valid store and that store's spheroid distance.

The index says which deals and in which order; this statement says what they are now (price,
stock) and where the nearest of their stores is, the way ``nearbyDeals`` measures it
(``ST_Distance`` on geography, ties broken by store id). A deal deleted since it was indexed
has no row; a deal without stores has no nearest store.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Select, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from db.database import DriverConnection
from db.rows import DealRow, MerchantRow, StoreRow
from db.tables import deal_stores, deals, merchants, stores
from geo.nearby import (
    Columns,
    DriverStatement,
    NearestStore,
    driver_rows,
    driver_statement,
    query_point,
    selected_columns,
    view_slice,
    view_type,
)


class FoundRow(NamedTuple):
    """One found deal as PostgreSQL tells it (a named tuple: one per hit)."""

    deal: DealRow
    merchant: MerchantRow
    nearest: NearestStore | None


def found_statement(with_point: bool, fields: Columns | None = None) -> Select[Any]:
    """Deals by ``:ids`` (in no order: the caller keeps the index's), with merchants (and,
    with a point, the nearest valid store of each, ``:lat``/``:lng``); all their columns, or
    ``fields``' only."""
    ids = bindparam("ids", type_=ARRAY(BigInteger))
    store_columns, merchant_columns, deal_columns = selected_columns(fields)
    columns: list[Any] = [
        *(c.label(f"e_{c.key}") for c in deal_columns),
        *(c.label(f"m_{c.key}") for c in merchant_columns),
    ]
    joined = deals.join(merchants, merchants.c.id == deals.c.merchant_id)
    if with_point:
        # one pass over the page's (deal, store) pairs, whatever the planner knows of the
        # tables (a per-deal LATERAL scanned every store per deal on unanalysed tables)
        distance = func.ST_Distance(stores.c.location, query_point())
        nearest = (
            select(deal_stores.c.deal_id, distance.label("distance"), *store_columns)
            .select_from(deal_stores)
            .join(stores, stores.c.id == deal_stores.c.store_id)
            .where(deal_stores.c.deal_id == func.any(ids))
            .order_by(deal_stores.c.deal_id, distance, stores.c.id)
            .ext(distinct_on(deal_stores.c.deal_id))
            .subquery("nearest")
        )
        joined = joined.outerjoin(nearest, nearest.c.deal_id == deals.c.id)
        columns += [nearest.c.distance, *(c.label(f"s_{c.key}") for c in nearest.c[2:])]
    return select(*columns).select_from(joined).where(deals.c.id == func.any(ids))


class _Reader:
    """Typed rows from result tuples by column position (looked up once per result)."""

    def __init__(self, keys: Sequence[str]) -> None:
        index = {key: position for position, key in enumerate(keys)}
        self._deal = [index[f"e_{f}"] for f in DealRow.__dataclass_fields__]
        self._merchant = [index[f"m_{f}"] for f in MerchantRow.__dataclass_fields__]
        with_point = "distance" in index
        self._store = [index[f"s_{f}"] for f in StoreRow.__dataclass_fields__] if with_point else []
        self._distance = index.get("distance")

    def found(self, row: Sequence[Any]) -> FoundRow:
        nearest = None
        if self._distance is not None and row[self._distance] is not None:
            store = StoreRow(*[row[i] for i in self._store])
            nearest = NearestStore(store=store, distance_m=float(row[self._distance]))
        return FoundRow(
            deal=DealRow(*[row[i] for i in self._deal]),
            merchant=MerchantRow(*[row[i] for i in self._merchant]),
            nearest=nearest,
        )


class _ViewReader:
    """Rows of a ``fields`` statement as views (:class:`geo.nearby.Columns`): the deal,
    merchant and store are named tuples of the selected fields, one slice of the row each."""

    def __init__(self, keys: Sequence[str], fields: Columns) -> None:
        index = {key: position for position, key in enumerate(keys)}
        self._deal = view_type("DealView", fields.deal)
        self._merchant = view_type("MerchantView", fields.merchant)
        self._store = view_type("StoreView", fields.store)
        self._deal_at = view_slice(index, "e_", fields.deal)
        self._merchant_at = view_slice(index, "m_", fields.merchant)
        self._distance = index.get("distance")
        self._store_at = view_slice(index, "s_", fields.store if self._distance is not None else ())

    def found(self, row: Sequence[Any]) -> FoundRow:
        # tuple.__new__ is what the named tuples' _make calls, less its length check: each
        # slice has its view's length by construction
        new = tuple.__new__
        nearest = None
        if self._distance is not None and row[self._distance] is not None:
            store = new(self._store, row[self._store_at])
            nearest = new(NearestStore, (store, float(row[self._distance])))
        deal = new(self._deal, row[self._deal_at])
        return new(FoundRow, (deal, new(self._merchant, row[self._merchant_at]), nearest))


@lru_cache(maxsize=256)
def _driver_statement(with_point: bool, fields: Columns | None) -> DriverStatement:
    return driver_statement(found_statement(with_point, fields))


@lru_cache(maxsize=256)
def _view_reader(with_point: bool, fields: Columns) -> _ViewReader:
    """The reader of :func:`_driver_statement`'s rows (one per statement)."""
    return _ViewReader(_driver_statement(with_point, fields).keys, fields)


async def found_deals(
    conn: AsyncConnection | DriverConnection[Any],
    deal_ids: Sequence[int],
    near: tuple[float, float] | None,
    *,
    fields: Columns | None = None,
) -> dict[int, FoundRow]:
    """The rows of ``deal_ids`` that still exist, by deal id. On a bare psycopg connection
    (``Database.driver``: a generic plan, the same for every page) the same text runs on
    psycopg's raw cursor (``$n`` parameters; no SQLAlchemy execution), and ``fields``
    selects only those: the rows are views of them."""
    if not deal_ids:
        return {}
    values: dict[str, Any] = {"ids": list(deal_ids)}
    if near is not None:
        values["lat"], values["lng"] = near
    reader: _Reader | _ViewReader
    if not isinstance(conn, AsyncConnection):
        statement = _driver_statement(near is not None, fields)
        keys, rows = statement.keys, await driver_rows(conn, statement, values)
        reader = _Reader(keys) if fields is None else _view_reader(near is not None, fields)
    else:
        result = await conn.execute(found_statement(near is not None), values)
        keys, rows = list(result.keys()), list(result.all())
        reader = _Reader(keys)
    found = (reader.found(row) for row in rows)
    return {row.deal.id: row for row in found}
